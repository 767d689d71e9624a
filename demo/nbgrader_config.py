"""The demo class's nbgrader settings: the course's, in a world of its own under demo/.

demo/ is an nbgrader course directory of its own whose source/, release/ and assignments/ are
the course's (links): its submissions, gradebook, autograded, feedback, reports and exchange
folders are here. Run nbgrader in this folder (`cd demo && nbgrader generate_feedback
initialization`), or the course's commands with --demo: the demo students never reach the real
class's gradebook, Formgrader, export, report or exchange.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)
here = os.path.dirname(os.path.abspath(__file__))
# The course's settings first, into this same configuration object, then the demo's own.
course_config = os.path.join(os.path.dirname(here), "nbgrader_config.py")
with open(course_config) as f:
    exec(compile(f.read(), course_config, "exec"), {"get_config": get_config, "__file__": course_config})  # noqa: F821

# The gradebook that generate_assignment writes: the demo's takes the assignment from it.
c.CourseGrading.assignment_db_url = c.CourseDirectory.db_url
c.CourseDirectory.root = here
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db") + "?timeout=60"
c.CourseGrading.reports_directory = os.path.join(here, "reports")
c.Exchange.root = os.path.join(here, "exchange")
