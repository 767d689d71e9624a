"""nbgrader settings of the Initialization course; this directory is the course root."""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# The course and where it lives: the directory of this file, wherever nbgrader is started.
c.CourseDirectory.course_id = "initialization-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# The gradebook: SQLite, in the course root (not in git), where several writers may meet (the
# Formgrader, `instructor grade`, nbgrader's commands, a grading service). `?timeout=60`: a
# writer waits up to 60 s for another's transaction instead of failing with "database is
# locked" after pysqlite's 5 s; the course's tools also put the file in WAL mode, where readers
# and a writer proceed together (instructor/gradebook_db.py). It must be on a local disk.
# A PostgreSQL server instead (pip install psycopg2-binary; the database created beforehand):
# c.CourseDirectory.db_url = "postgresql+psycopg2://USER@/DATABASE?host=/var/run/postgresql"
c.CourseDirectory.db_url = (
    "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db") + "?timeout=60"
)

# Files of the assignment folders that never reach students or the grader.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# generate_assignment registers the assignment in the gradebook if it is not there yet.
c.GenerateAssignment.create_assignment = True

# What replaces a solution block in the student release. Raising keeps an unanswered
# exercise from passing its tests silently.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Execution of a notebook by `nbgrader validate` (students' own check of their notebook): a
# whole notebook trains three networks (about 10 s here). Grading derives its limits from the
# reference run instead (see the end of this file).
c.Execute.timeout = 300
c.Execute.kernel_name = "python3"

# The exchange folder through which release_assignment, fetch_assignment, submit, collect and
# the feedback pass: on a shared server, a folder every user can reach (set NBGRADER_EXCHANGE),
# made by `python -m instructor exchange init` so that no student can subvert it; otherwise one
# inside the course (not in git).
c.Exchange.root = os.environ.get(
    "NBGRADER_EXCHANGE", os.path.join(c.CourseDirectory.root, "exchange")
)


# --- Feedback without the hidden tests (instructor/preprocessors/) -----------------------------
# generate_feedback shows every test's verdict, messages and score, but neither the hidden
# tests' code nor their expected values: the WithholdHiddenTests preprocessor removes them, and
# masks whatever would quote them, before each page is written; it also puts a summary at the
# top (each exercise by name: points, the mistakes named, what to do next). MathToMathML
# writes the math as MathML, so the page needs no script and no network.
# The course's tools are the `instructor` package, installed into the course's environment
# (`make setup`: pip install -e .), which nbgrader imports them from, wherever it runs.
def _feedback_preprocessors():
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from instructor.preprocessors.math_to_mathml import MathToMathML
    from instructor.preprocessors.withhold_hidden_tests import WithholdHiddenTests

    return [GetGrades, WithholdHiddenTests, MathToMathML, CSSHTMLHeaderPreprocessor]


c.GenerateFeedback.preprocessors = _feedback_preprocessors()


# The page's template: the course's "feedback" template (instructor/templates/feedback/), found
# before nbgrader's of the same name, so that the Formgrader's "Generate feedback" button, which
# always asks for "feedback", makes the same page as the command. nbgrader's own templates
# follow (the Formgrader's grading view uses its "formgrade").
def _template_folders():
    import nbgrader

    import instructor

    nbgrader_templates = os.path.join(
        os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates"
    )
    return [os.path.join(os.path.dirname(instructor.__file__), "templates"), nbgrader_templates]


c.HTMLExporter.extra_template_basedirs = _template_folders()


# --- A submission is data on every page that shows it (instructor/preprocessors/) ----------------
# A student's outputs, Markdown, attachments, metadata and names could carry scripts that would
# run as the instructor in the Formgrader, or as whoever opens a feedback page. SanitizeSubmission
# turns the notebook into inert HTML first (scripts, handlers, JavaScript outputs dropped; plots,
# tables and formatted text kept) and gives the page its Content-Security-Policy. Every HTML
# page of a notebook gets it: the Formgrader's submission page (after MathToMathML, so its math
# needs no MathJax from the web), and the feedback, last of its preprocessors above (nbconvert
# would run the exporter's own list first, before the hidden tests are withheld).
def _page_preprocessors():
    from instructor.preprocessors.math_to_mathml import MathToMathML
    from instructor.preprocessors.sanitize_submission import SanitizeSubmission

    return [MathToMathML, SanitizeSubmission], SanitizeSubmission


_pages, _sanitize = _page_preprocessors()
c.HTMLExporter.preprocessors = _pages
c.GenerateFeedback.HTMLExporter.preprocessors = []
c.GenerateFeedback.preprocessors = [*c.GenerateFeedback.preprocessors, _sanitize]
# The course's "formgrade" template (instructor/templates/formgrade/: the submission page's
# scripts with the nonce of instructor/formgrader.py) extends nbgrader's, found here.
c.HTMLExporter.extra_template_paths = _template_folders()[1:]


# --- One grade, whatever the route (instructor/grading/) -----------------------------------------
# `nbgrader autograde` and the Formgrader's Autograde button hand each student to the course's
# grading engine, the one `python -m instructor grade` drives in parallel: the same intake of
# odd notebooks, sandbox, limits, clean re-check and flags, so the same grade on every route.
# nbgrader's own steps (its unsandboxed Execute, then saving the grades) are replaced: the
# engine runs nbgrader's sanitizing and saving preprocessors itself, around its sandbox.
def _course_grading():
    from instructor.preprocessors.course_grading import GradeWithCourseRules

    return [GradeWithCourseRules], []


c.Autograde.sanitize_preprocessors, c.Autograde.autograde_preprocessors = _course_grading()
# Where grading keeps its ledger (grading.json) and the reference run (reference.json), and the
# class report is written: reports/<assignment>/.
c.CourseGrading.reports_directory = os.path.join(c.CourseDirectory.root, "reports")
# Which cells a grading runs (instructor/grading/needed.py). The source notebook marks the cells
# its grade does not depend on ("grading": {"skip": "the trainings"} in the metadata of the
# trainings, predictions, decision boundaries, scale section and conclusions): every route
# grades a submission on the other cells, in about a second instead of a whole run, with the
# same scores, flags and notes (a submission whose own cells need the marked ones runs whole).
# True runs every cell of each submission again, for a course that wants the grader's own
# plots in the feedback; each submission then costs a whole run of the notebook.
c.CourseGrading.run_whole_notebook = False
# Limits of each submission's run: set any c.GradingLimits option here to replace its default,
# e.g. c.GradingLimits.memory_mb = 4096; the time limits default to a few times the source
# notebook's own run. `python -m instructor grade --help-all` prints every option of
# c.GradingLimits and c.CourseGrading with its default and help (instructor/grading/settings.py);
# a value of the wrong type, or a name that is no option, is refused with the reason.


# --- Canvas and back: roster, collection, due date, late penalty, grade export (instructor/lms/)
# The roster comes in with `python -m instructor roster import FILE` (a Canvas gradebook CSV);
# docs/instructors.md, "From Canvas and back", gives the whole round trip. The plugins are
# the installed instructor package's.

# zip_collect: Canvas file names -> the student on the roster, the LATE marker, the latest of
# several versions; files of users not on the roster are reported, not collected.
c.ZipCollectApp.collector_plugin = "instructor.lms.collector.CanvasFileNames"
# The due date lives in the gradebook (`nbgrader db assignment add initialization
# --duedate="2026-03-02 23:59:00 America/Toronto"`); set here, zip_collect writes it there.
# c.CanvasFileNames.due_date = "2026-03-02 23:59:00 America/Toronto"
# A file Canvas marked LATE, with no time known, counts as this many seconds late: one second
# is one started day, the least the marker can mean.
c.CanvasFileNames.late_marker_seconds = 1

# The late penalty, applied whenever grades are saved (autograde, instructor grade): 10 % of
# the points possible per started day late, at most 50 %, never below a score of zero.
c.AssignLatePenalties.plugin_class = "instructor.lms.late.PercentPerDayLate"
c.PercentPerDayLate.percent_per_day = 10.0
c.PercentPerDayLate.max_percent = 50.0
c.PercentPerDayLate.grace_minutes = 0.0
c.PercentPerDayLate.basis = "max_score"  # or "score": the percentage of the points earned

# Grades back to Canvas: `nbgrader export --exporter=instructor.lms.export.CanvasGradesExport`
# writes grades-canvas.csv. Name the column as Canvas does, with the assignment's Canvas id,
# to update an existing assignment:
# c.CanvasGradesExport.columns = {"initialization": "Initialization (123456)"}
# Plain `nbgrader export` writes nbgrader's grades.csv, its columns and values, through the
# course's InertCsvExport: quoted as CSV, and no cell a spreadsheet would run as a formula (a
# student's name starting with "=" gets a leading "'"), as every CSV file of the course.
c.ExportApp.plugin_class = "instructor.lms.export.InertCsvExport"


# --- Collecting from the exchange's inbound folder (instructor/exchange/) --------------------
# Every student can write into the exchange's inbound folder. nbgrader's own collect copies it
# with shutil.copytree (links followed, FIFOs opened, no limit on files) and stops on a single
# badly named folder. SafeCollect, used by `nbgrader collect`, the Formgrader's Collect button
# and the grade-on-submit service alike, skips links, FIFOs, devices and hard links, and
# refuses a folder owned by someone other than the student it names (when
# c.ExchangeCollect.check_owner is on, nbgrader's default: it is never taken as that student's
# latest, and its maker is reported), or one with too many files or too deep. Each refusal is logged and the others are still collected; an earlier copy survives a
# refused update. Limits: c.SafeCollect.max_files, max_depth, settle_seconds, attempts.
c.ExchangeFactory.collect = "instructor.exchange.collect.SafeCollect"


# --- Grade on submit: `python -m instructor watch` (instructor/watch/) ------------------------
# The service grades each submission as it arrives and releases that student's feedback. Its
# policy (instructor/watch/policy.py has the help of each option):
# c.GradeOnSubmit.max_attempts = 3           # feedbacks per student before the due date (0: no limit)
# c.GradeOnSubmit.cooldown_minutes = 10      # between two feedbacks of a student, before the due date
# c.GradeOnSubmit.hidden_verdicts_before_due = False   # scores and verdicts only after the due date
# c.GradeOnSubmit.drain_seconds = 60         # on Ctrl-C / SIGTERM, time left to gradings in flight
# After the due date submissions are still graded, with nbgrader's late penalty (above), and
# feedback held back before it is released.
