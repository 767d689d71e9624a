"""The clean re-check: each answer, run on its own where the rest of the notebook cannot reach it.

nbgrader runs a submission's test cells in the same kernel as the student's code, so code that
ran earlier can change what the tests see (replace numpy's comparisons, redefine the test
functions, hide errors...). After nbgrader's run, the grader re-checks every declared exercise:

    child.py  inside the sandbox: runs only the answer cell, calls the function on the
              arguments asked for, sends back plain data
    codec.py  that plain data, both ways: arrays as raw bytes, anything odd as its type's name
    run.py    in the grader: runs each test cell with the student's function replaced by a
              replay of the sandbox's answers, and scores it as nbgrader would
"""
