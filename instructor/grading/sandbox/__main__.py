"""`python -m instructor.grading.sandbox SPEC.json ...`: the launcher (launcher.py)."""

import sys

from .launcher import main

sys.exit(main())
