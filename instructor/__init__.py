"""Instructor tooling for the Initialization course: thin commands over a grading engine.

The commands (one module each):

    python -m instructor release   regenerate release/ from source/ with nbgrader
    python -m instructor demo      rebuild the demo class from the release
    python -m instructor grade     grade every submission: sandboxed, re-checked, in parallel on Dask
    python -m instructor scores    print every student's score per exercise
    python -m instructor lab       JupyterLab for a student (release copy) or the instructor
    python -m instructor report    write the class report: scores.csv and report.html
    python -m instructor exchange  `exchange init|check`: the exchange made so that students
                                   cannot subvert it (a shared server's, or the course's own)

The grading engine (grading/: session, intake, sandbox, worker, recheck, record...) is the one
`nbgrader autograde` and the Formgrader's Autograde button run too (preprocessors/); it names no
assignment. Students never need this package: everything they use is in
release/initialization/.
"""
