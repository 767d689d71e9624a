"""What the corpus tests look at after a batch: what the notebooks printed, and the processes
the submissions may have left behind."""

import os
import re
import time
from pathlib import Path

import nbformat

from .build import DAEMON_MARK, NOTEBOOK

# A sandbox's working folder without namespaces, once its workspace is gone.
_GONE_SANDBOX = re.compile(r"/igrade-\d+-[^/]+/run-[^/]+.* \(deleted\)$")


def printed(root, student):
    """Everything the student's code cells printed in the graded notebook."""
    nb = nbformat.read(Path(root) / "autograded" / student / "initialization" / NOTEBOOK, 4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def survivors(root):
    """Processes that a grading of this course left running: the corpus's daemon, processes of
    a sandbox whose working folder lies in the course (namespaces) or in a workspace that has
    been removed (landlock, limits)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            if stat.rsplit(b")", 1)[1].split()[0] == b"Z":
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            folder = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        uid = int(re.search(r"^Uid:\s+(\d+)", Path(f"/proc/{entry}/status").read_text(), re.M)[1])
        if (
            DAEMON_MARK in cmdline
            or _GONE_SANDBOX.search(folder)
            or (100000 <= uid < 200000 and folder.startswith(str(root)))
        ):
            found.append((int(entry), folder, cmdline.replace(b"\0", b" ")[:200].decode()))
    return found


def says(text, marker):
    """Does a line of what the notebook printed start with marker (the notebook's own print, not
    a quotation of its source, which the students' check prints indented)?"""
    return any(line.startswith(marker) for line in text.splitlines())


def survivors_once_reaped(root, bound=120):
    """survivors(root), once the sandboxes of the batch that just ended have been reaped: the
    last sandbox's sweep may still be ending its processes as the command exits, so this waits
    until none is left, for at most `bound` seconds (a busy machine; it takes well under a
    second on an idle one). A process nothing ends (the corpus's daemon) is still found."""
    deadline = time.monotonic() + bound
    found = survivors(root)
    while found and time.monotonic() < deadline:
        time.sleep(0.5)
        found = survivors(root)
    return found
