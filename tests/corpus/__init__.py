"""Submissions that are broken, odd or hostile, built from the release for the grading tests."""
