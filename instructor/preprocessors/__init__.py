"""nbgrader preprocessors of the course, one per module, configured in nbgrader_config.py.

exercise_points.ExercisePoints   a grade cell's result, a fraction, becomes points
course_grading.GradeWithCourseRules
                                 `nbgrader autograde` and the Formgrader's Autograde
                                 button grade with the course's engine
"""
