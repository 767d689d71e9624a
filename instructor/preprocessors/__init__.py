"""nbgrader preprocessors of the course, one per module, configured in nbgrader_config.py.

course_grading.GradeWithCourseRules
                                 `nbgrader autograde` and the Formgrader's Autograde
                                 button grade with the course's engine

sanitize_submission.SanitizeSubmission
                                 every HTML page of a notebook (the Formgrader's, the
                                 feedback) shows a submission as data: nothing of it runs

(The preprocessor that turns a grade cell's fraction into points, ExercisePoints, runs inside
the engine's own pipeline only: instructor/grading/exercise_points.py.)
"""
