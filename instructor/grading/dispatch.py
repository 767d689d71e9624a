"""Where the grading tasks run: in this process one after the other, or on a Dask cluster.

Both take (key, task) pairs and yield (key, result) pairs as results come in; the task function
is worker.grade_submission in both, so the two routes grade identically.

The Dask route starts a LocalCluster sized to the machine (one single-threaded worker process
per core), or connects to an existing scheduler (`tls://host:port`), e.g. a Kubernetes or Slurm
deployment. Either way every comm is TLS with mutual authentication, and the local cluster
listens on the loopback alone (cluster_security.py): a Dask client runs code on the workers,
so no other account of the machine may become one. Workers need the course's Python
environment but no access to its files: this package is uploaded to them, the assignment's
bundle is installed on each (also on workers that join or restart later) by a worker plugin,
and each task carries its submission. A task whose worker dies is run again elsewhere by Dask;
only a few tasks are in flight at a time, so that results are saved as they complete.
"""

import contextlib
import io
import logging
import os
import signal
import tempfile
import traceback
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import dask
from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from . import cluster_security, fork_server, startup
from .messages import Bundle, Result, Task
from .settings import CourseGrading
from .status import Status
from .worker import grade_submission
from .workspace import discard_font_cache

PACKAGE = Path(__file__).resolve().parents[1]  # the whole instructor package, engine included
# Run on the cluster after an upload: drop the modules of this package already imported there.
FORGET_PACKAGE = (
    "import sys\n"
    "for name in [m for m in sys.modules if m == 'instructor' or m.startswith('instructor.')]:\n"
    "    del sys.modules[name]\n"
)


_BUNDLES: dict[
    str, Bundle
] = {}  # on a worker: the bundles installed by BundlePlugin, by fingerprint


class BundlePlugin(WorkerPlugin):
    """Installs the assignment's bundle on every worker, including those that start later."""

    name = "instructor-grading-bundle"

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    def setup(self, worker: object = None) -> None:
        _BUNDLES[self.bundle.fingerprint] = self.bundle


def grade_on_worker(task: Task, fingerprint: str) -> Result:
    """The task run by Dask: grade a submission with the bundle installed on this worker."""
    bundle = _BUNDLES.get(fingerprint)
    if bundle is None:
        return Result(
            task.student, Status.FAILED, reason="the worker had not received the assignment"
        )
    return grade_submission(task, bundle)


class SerialRunner:
    """Grades in this process, one submission after the other (no Dask)."""

    description = "in this process (serial)"
    workers = 1

    def __enter__(self) -> "SerialRunner":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> Literal[False]:
        return False

    def run(
        self, items: Iterable[tuple[str, Task]], bundle: Bundle
    ) -> Iterator[tuple[str, Result]]:
        for key, task in items:
            yield key, grade_submission(task, bundle)


def quiet() -> None:
    """Silence Dask's and its libraries' logs (an interrupted batch is being stopped)."""
    for name in ("distributed", "tornado", "asyncio", "bokeh"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _failed(task: Task, error: object) -> Result:
    name = type(error).__name__
    if name == "KilledWorker":
        reason = "the workers grading it died several times (the submission may kill its grader)"
    else:
        reason = f"the task failed on the cluster ({name}: {error})"
    trace = "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else ""
    return Result(task.student, Status.FAILED, reason=reason, trace=trace)


def package_zip(folder: str | os.PathLike[str]) -> Path:
    """This package as a zip file that Dask can send to its workers; returns its path."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(PACKAGE.rglob("*.py")):  # the whole package, subpackages too
            if "__pycache__" not in path.parts:
                archive.write(path, f"instructor/{path.relative_to(PACKAGE).as_posix()}")
    target = Path(folder) / f"instructor_grading_{uuid.uuid4().hex[:8]}.zip"
    target.write_bytes(data.getvalue())
    return target


class DaskRunner:
    """Grades on a Dask cluster: a local one sized to the machine, or an existing scheduler."""

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        retries: int = 1,
        grading: CourseGrading | None = None,
    ) -> None:
        """scheduler -- an existing cluster's address, or None for a local cluster;
        grading -- the course's c.CourseGrading (the certificates for a tls:// scheduler,
        whether a tcp:// one may be used). SchedulerRefused, before anything starts, for a
        scheduler that cannot be used safely (cluster_security.for_scheduler)."""
        self.scheduler = scheduler
        self.security: Any = (
            cluster_security.for_scheduler(scheduler, grading or CourseGrading())
            if scheduler
            else None
        )
        self.n_workers = workers or os.cpu_count() or 1
        self.retries = retries
        self.cluster: Any = None  # a distributed.LocalCluster, when this runner started one
        self.client: Any = None  # a distributed.Client
        self.description = ""
        self._installed: set[str] = set()  # fingerprints of the bundles on the workers
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> "DaskRunner":
        try:
            self._start()
        except BaseException as error:
            self.__exit__(type(error), error, None)
            raise
        return self

    def _start(self) -> None:
        for name in ("distributed", "bokeh", "tornado"):
            logging.getLogger(name).setLevel(logging.ERROR)
        if self.scheduler:
            self.client = Client(self.scheduler, timeout="30s", security=self.security)
            with tempfile.TemporaryDirectory() as folder:
                self.client.upload_file(str(package_zip(folder)), load=True)
            # a cluster that ran an older version of this package re-imports it from the upload
            self.client.run(exec, FORGET_PACKAGE)
            self.client.run_on_scheduler(exec, FORGET_PACKAGE)
            self.description = f"on the Dask cluster at {self.scheduler}"
        else:
            # The workers ignore Ctrl-C, which the terminal sends to every process of the
            # command: the command stops them itself, without screens of their tracebacks.
            # They are forked from a process with the engine loaded (fork_server.py).
            fork_server.start()
            forked = fork_server.usable()
            method = fork_server.METHOD if forked else "spawn"
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            # Its workers' scratch space in a folder of this cluster's own, closed to other
            # accounts, not Dask's default /tmp/dask-scratch-space: that one folder is shared
            # by every account of the machine, and whoever made it first owns it.
            self._scratch = tempfile.TemporaryDirectory(prefix="instructor-dask-")
            # Every comm TLS with a certificate made for this cluster, on the loopback alone,
            # and the HTTP servers Dask starts anyway with no route (cluster_security.py).
            self.security = cluster_security.local()
            # The scheduler keeps its own scratch folder under Dask's temporary-directory: the
            # same folder of this cluster's, or it would purge and lock in the shared one.
            options = {
                "distributed.worker.multiprocessing-method": method,
                "temporary-directory": self._scratch.name,
            }
            try:
                with dask.config.set({**options, **cluster_security.HTTP_OFF}):
                    self.cluster = LocalCluster(
                        host=cluster_security.HOST,
                        protocol="tls://",
                        security=self.security,
                        local_directory=self._scratch.name,
                        n_workers=self.n_workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        # its HTTP server on any free port of the loopback: no warning that
                        # 8787, the default, is taken by another cluster of this machine
                        scheduler_kwargs={"dashboard_address": f"{cluster_security.HOST}:0"},
                        silence_logs=logging.ERROR,
                        preload=[startup.__name__],  # each worker prepared (startup.py)
                    )
            finally:
                signal.signal(signal.SIGINT, previous)
            self.client = Client(self.cluster, security=self.security)
            processes = "worker process" if self.n_workers == 1 else "worker processes"
            self.description = f"on a local Dask cluster of {self.n_workers} {processes}" + (
                ", forked with the engine loaded" if forked else ""
            )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> Literal[False]:
        # Whatever ends the batch (its end, Ctrl-C, the service's SIGTERM), what the cluster
        # says while it is stopped is noise, and so is what its worker processes say: on a
        # busy machine a worker's heartbeat may find the scheduler already closing, and log
        # its traceback to the terminal or the service's log.
        quiet()
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.run(quiet)
            with contextlib.suppress(Exception):
                self.client.run(discard_font_cache)
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self._scratch is not None:
            self._scratch.cleanup()
        self.client = self.cluster = self._scratch = None
        return False

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def submit(self, task: Task, bundle: Bundle, worker: str | None = None) -> Any:
        """Start grading one task on the cluster (the bundle is installed on every worker
        first, once per bundle), on any worker or on the one given by its address; returns
        its future (see `outcome`)."""
        if bundle.fingerprint not in self._installed:
            self.client.register_plugin(BundlePlugin(bundle))
            self._installed.add(bundle.fingerprint)
        return self.client.submit(
            grade_on_worker,
            task,
            bundle.fingerprint,
            key=f"grade-{task.student}-{uuid.uuid4().hex[:8]}",
            retries=self.retries,
            pure=False,
            workers=[worker] if worker else None,
        )

    def addresses(self) -> list[str]:
        """The addresses of the cluster's workers."""
        return sorted(self.client.scheduler_info().get("workers", {}))

    @staticmethod
    def outcome(future: Any, task: Task) -> Result:
        """The Result of a finished future; a task that failed on the cluster gives a failed
        Result with the reason and the trace."""
        try:
            result: Result = future.result()
        except Exception as error:  # noqa: BLE001 -- reported per submission, the rest go on
            result = _failed(task, error)
        future.release()
        return result

    def run(
        self, items: Iterable[tuple[str, Task]], bundle: Bundle
    ) -> Iterator[tuple[str, Result]]:
        queue = iter(items)
        pending = as_completed()
        keys: dict[str, str] = {}
        tasks: dict[str, Task] = {}

        def submit_next() -> bool:
            item = next(queue, None)
            if item is None:
                return False
            key, task = item
            future = self.submit(task, bundle)
            keys[future.key], tasks[future.key] = key, task
            pending.add(future)
            return True

        for _ in range(3 * self.workers):
            if not submit_next():
                break
        for future in pending:
            key, task = keys.pop(future.key), tasks.pop(future.key)
            yield key, self.outcome(future, task)
            submit_next()
