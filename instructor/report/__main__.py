"""`python -m instructor.report`, as `python -m instructor report`."""

import sys

from . import main

sys.exit(main())
