"""nbgrader preprocessors of the course, one per module, as nbgrader's own are.

course_grading.GradeWithCourseRules
    `nbgrader autograde` and the Formgrader's Autograde button grade with the course's engine
    (nbgrader_config.py: c.Autograde)
sandboxed_execute.SandboxedExecute
    nbgrader's Execute with the kernel started in the sandbox, under the limits (the engine's
    own pipeline: grading/cells.py)
exercise_points.ExercisePoints
    a grade cell's result, a fraction of the exercise, becomes points (the engine's pipeline)
withhold_hidden_tests.WithholdHiddenTests
    generate_feedback: the hidden tests and what would quote them withheld, a summary put first
math_to_mathml.MathToMathML
    every page of a notebook: its math written as MathML, so that the page needs no script
sanitize_submission.SanitizeSubmission
    every HTML page of a notebook (the Formgrader's, the feedback) shows a submission as data:
    nothing of it runs
"""
