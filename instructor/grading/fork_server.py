"""The local cluster's workers, forked from a process that loaded the engine once.

Each worker of the local Dask cluster used to start as a new interpreter (multiprocessing's
"spawn"), which imports Dask, nbgrader, nbconvert and this engine again: about 1 s of CPU a
worker, on the cores that grade. `start` launches multiprocessing's fork server instead, with
fork_server_preload.py as its preload: one process imports all of it once, and each worker
is a fork of it, with everything loaded. `grade` starts it as soon as it has read its
options, so that those imports run on a core that is idle while the command reads the course.

The fork server is started the way a worker was: with Ctrl-C ignored (multiprocessing gives
its forks the server's own handler, so the workers ignore Ctrl-C as before, and the command
stops them itself), closed to other processes (fork_server_preload.py), and ending with the
command. A fork gets this process's import path, working folder and main module as a spawned
worker does (multiprocessing sends them with each request), but the server's environment: a
worker forks from it only while this process's environment is still the one the server
started with (`usable`); otherwise Dask starts it the old way, as it also does for a worker
it restarts.
"""

import multiprocessing
import multiprocessing.forkserver
import os
import signal

METHOD = "forkserver"  # Dask's distributed.worker.multiprocessing-method
PRELOAD = f"{__package__}.fork_server_preload"

_started: dict[str, str] | None = None  # the environment the server started with


def start() -> None:
    """Start this process's fork server with the engine preloaded (once; later calls do
    nothing)."""
    global _started
    if _started is not None:
        return
    multiprocessing.get_context(METHOD).set_forkserver_preload([PRELOAD])
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)
    _started = dict(os.environ)


def usable() -> bool:
    """Will a worker forked now get this process's environment?"""
    return _started is not None and _started == dict(os.environ)
