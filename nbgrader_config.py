"""nbgrader settings of the Initialization course; this directory is the course root."""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# The course and where it lives: the directory of this file, wherever nbgrader is started.
c.CourseDirectory.course_id = "initialization-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# The gradebook: nbgrader's SQLite default, in the course root (not in git).
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")

# Files of the assignment folders that never reach students or the grader.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# generate_assignment registers the assignment in the gradebook if it is not there yet.
c.GenerateAssignment.create_assignment = True

# What replaces a solution block in the student release. Raising keeps an unanswered
# exercise from passing its tests silently.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Execution of a notebook by validate and autograde: a whole notebook trains three networks
# (about 10 s here); a cell that runs longer than this is stopped and scores zero.
c.Execute.timeout = 300
c.Execute.kernel_name = "python3"

# The exchange folder through which release_assignment, fetch_assignment, submit, collect and
# the feedback pass: on a shared server, a folder every user can reach (set NBGRADER_EXCHANGE);
# otherwise one inside the course (not in git).
c.Exchange.root = os.environ.get(
    "NBGRADER_EXCHANGE", os.path.join(c.CourseDirectory.root, "exchange")
)


# --- Feedback without the hidden tests (instructor/feedback.py) ------------------------------
# generate_feedback shows every test's verdict, messages and score, but neither the hidden
# tests' code nor their expected values: the WithholdHiddenTests preprocessor removes them, and
# masks whatever would quote them, before each page is written. It is imported from the course
# root, which is put on nbgrader's path for that.
def _feedback_preprocessors(root):
    import sys

    if root not in sys.path:
        sys.path.append(root)
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from instructor.feedback import WithholdHiddenTests

    return [GetGrades, WithholdHiddenTests, CSSHTMLHeaderPreprocessor]


c.GenerateFeedback.preprocessors = _feedback_preprocessors(c.CourseDirectory.root)
