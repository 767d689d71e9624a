"""Imported by the fork server of the local cluster's workers (fork_server.py), and meant for
that process alone: importing it prepares the process every worker is forked from.

It closes the process to other processes (as every process of the grader), skips the
start-up work that startup.py skips, then imports Dask's worker and this engine, so that each
worker starts with them loaded.
"""

from .sandbox import guard_grader_process
from .startup import prepare_process

guard_grader_process()  # it holds the grader's environment, and the workers inherit this
prepare_process()  # before nbformat is imported below

import distributed.nanny  # noqa: E402,F401 -- Dask's worker process
import distributed.worker  # noqa: E402,F401

from . import dispatch  # noqa: E402,F401 -- the engine: what the grading tasks run
