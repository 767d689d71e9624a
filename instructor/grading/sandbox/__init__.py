"""Where student code runs: the sandbox.

limits.py     Limits: time, memory, processes, files, output and disk of one submission
spec.py       LaunchSpec (what to start, under which limits) and ExitStatus (how it ended)
launch.py     the launcher's command line and environment, and `start`: the one way in
launcher.py   the launcher itself (`python -m instructor.grading.sandbox`): limits,
              isolation, then the kernel or a program such as the re-check's child
isolation.py  Linux namespaces, the private file system, resource limits, clean environment
zygote.py     a process that forks launchers with the heavy modules already imported
kernels.py    the sandboxed kernelspec and kernel manager nbclient uses
"""

from .isolation import namespaces_available, python_folders
from .limits import Limits
from .spec import KERNEL, ExitStatus, LaunchSpec

__all__ = ["KERNEL", "ExitStatus", "LaunchSpec", "Limits", "namespaces_available", "python_folders"]
