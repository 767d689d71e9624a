"""The one base of every exception the course's tools raise.

A caller that wants to stop at any fault of the course, and only at those, catches
`CourseError`; each module keeps its own precise class for the callers that handle one fault
(a rejected notebook, a refused isolation, a failed feedback). Where callers also catch a
builtin family (`OSError` for an unavailable kernel feature, `ImportError` for an unchecked
nbclient version), the class keeps that builtin as its second base, so that those callers are
unchanged.

The classes, by where they are raised:

    grading/session.py        CannotGrade            grading cannot start (one line: what to do)
    grading/bundle.py         BundleError            the assignment's bundle cannot be built
    grading/reference.py      ReferenceRunError      the source's solutions fall short
    grading/normalise.py      NotebookRejected       a submitted notebook cannot be graded
    preprocessors/sandboxed_execute.py  GraderFailure, UncheckedVersion (ImportError)
    grading/recheck/run.py    UnknownCall, Raised    the clean re-check's child
    grading/sandbox/          IsolationRefused; landlock's and seccomp's Unavailable (OSError)
    exchange/layout.py        ExchangeError          the exchange is unsafe or unusable
    exchange/copier.py        FolderRefused (and its Incomplete) a folder of the inbound folder
    watch/deliver.py          FeedbackError          nbgrader could not make or release feedback
    preprocessors/course_grading.py CourseGradingError   nbgrader autograde's error, with why
    release.py, roster.py, lab.py   ReleaseError, RosterError, LabError

This module imports nothing, so that the sandbox's launcher and the re-check's child can use it
before any student code runs.
"""


class CourseError(Exception):
    """A fault of the course's tools, or of what they were given; the message says which."""


__all__ = ["CourseError"]
