"""The grading engine: one grading of an assignment, whatever route asked for it.

    session.py    Session (one grading run, built from the loaded nbgrader config), Batch,
                  grade_one; the entry point of every route
    messages.py   Exercise, Bundle, Task, Result, Score: what the parts send one another
    bundle.py     the Bundle of an assignment, with the exercises its source notebook declares
    hide.py       what the submissions' code must not see (session and reference both use it)
    status.py     Status: graded, rejected, failed (a StrEnum: the ledger's strings)
    sync.py       do the source, the release and the gradebook agree?
    reference.py  the source notebook graded as a submission: full marks? time limits
    needed.py     the cells a grade needs: which marked cells a grading skips, and when a
                  submission must run whole
    intake.py     reading a submission's folder without changing it, its notebook chosen
    normalise.py  one notebook file read and its cells repaired, or rejected with a reason
    dispatch.py   where tasks run: in this process, or on Dask
    worker.py     grading one Task: each notebook through its steps, in a workspace
    workspace.py  the private folders of one task
    cells.py      nbgrader's pipeline around the sandboxed run (its preprocessors are in
                  instructor/preprocessors/: SandboxedExecute, ExercisePoints), and what the
                  run says of the student's cells: errors, tampering flags
    recheck/      the clean re-check of each answer (child in the sandbox, replay here,
                  clean.py: started beside the notebook's run, and the corrections)
    scan.py       the static scan for tampering patterns
    sandbox/      where student code runs: limits, the one launcher, isolation, the zygote
    record.py     the gradebook, the autograded folder and the ledger (ledger.py) are written
    progress.py   the progress line of a run
    startup.py    work the grader's processes skip (parsers built for a check they never
                  run, a schema checked again at every use)
    fork_server.py  the local cluster's workers, forked from a process that loaded the
                  engine once (fork_server_preload.py is that process's preload)

Nothing in this package names an assignment: notebooks, exercises and points come from the
course's nbgrader config, the source folder and its notebook's metadata. Importing it is cheap
(the sandbox's launcher imports this package before running student code).
"""

import importlib

_EXPORTS = {
    "CannotGrade": "session",
    "Session": "session",
    "Prepared": "session",
    "Status": "status",
    "grade_one": "session",
    "reports_dir": "session",
    "Limits": "sandbox",
}


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)


__all__ = list(_EXPORTS)
