"""`python -m instructor.grading.sandbox SPEC.json ...`: the launcher (launcher.py);
`python -m instructor.grading.sandbox --zygote`: the kernel zygote (zygote.py), which forks
launchers. The choice is made here, so that neither module imports the other's caller."""

import sys

from .launch import ZYGOTE_FLAG

if sys.argv[1:] == [ZYGOTE_FLAG]:
    from .zygote import serve

    serve()
    sys.exit(0)

from .launcher import main  # noqa: E402 -- only when this process is a launcher

sys.exit(main())
