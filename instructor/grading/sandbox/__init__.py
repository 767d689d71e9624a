"""Where student code runs: the sandbox.

limits.py     Limits: time, memory, processes, files, output and disk of one submission
spec.py       LaunchSpec (what to start, under which limits) and ExitStatus (how it ended)
launch.py     the launcher's command line and environment, and `start`: the one way in
launcher.py   the launcher itself (`python -m instructor.grading.sandbox`): limits,
              isolation, then the kernel or a program such as the re-check's child
modes.py      which isolation this machine allows (namespaces, landlock, limits), or the
              refusal with the platform's fix
isolation.py  Linux namespaces and the private file system, or Landlock and seccomp; resource
              limits, clean environment, the sweep that leaves no process behind
landlock.py   Landlock's system calls (a binding of our own: ABI 4's TCP rules, ABI 6's scopes)
seccomp.py    the system-call filter of the "landlock" isolation (libseccomp, via pyseccomp)
zygote.py     a process that forks launchers with the heavy modules already imported
exits.py      waiting for a process to end, woken the moment it does (a pidfd)
kernels.py    the sandboxed kernelspec and kernel manager nbclient uses
"""

from .isolation import guard_grader_process, namespaces_available, python_folders
from .limits import Limits
from .modes import LIMITS_ONLY, Isolation, IsolationRefused, choose, shared_process_limit
from .spec import KERNEL, ExitStatus, LaunchSpec

__all__ = ["KERNEL", "LIMITS_ONLY", "ExitStatus", "Isolation", "IsolationRefused", "LaunchSpec",
           "Limits", "choose", "guard_grader_process", "namespaces_available", "python_folders",
           "shared_process_limit"]  # fmt: skip
