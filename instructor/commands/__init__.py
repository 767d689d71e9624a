"""The instructor's commands, one module each: `python -m instructor COMMAND [options]`.

Each parses its options, calls the library modules of instructor/ (the grading engine, the
exchange, the report...) and says what happened. Nothing else imports them.
"""

COMMANDS = {
    "release": "regenerate release/ from source/ (or --check that it is in sync)",
    "demo": "rebuild the demo class from the release",
    "grade": "grade every submission: sandboxed, re-checked, in parallel on Dask (nbgrader underneath)",
    "scores": "print every student's score per exercise from the gradebook",
    "lab": "JupyterLab on localhost: `lab student` (a copy of the release) or `lab instructor`",
    "report": "write the class report (scores.csv, report.html) to reports/initialization/",
    "watch": "grade each submission as it arrives and release its feedback (a service)",
    "roster": "`roster import FILE`: a Canvas roster (gradebook CSV) into nbgrader's student table",
    "exchange": "`exchange init|check`: the exchange's folders, made so that students cannot subvert it",
    "gradebook": "`gradebook backup|restore FILE`: the gradebook copied while in use, and put back",
}
