"""What makes a grading start and end sooner, each part able to fail on its own.

A wait for a process's end wakes at its end, for a child and for a process forked by another;
the kernel's clients share one ZeroMQ context that reconnects soon; a re-check answer that the
notebook's run beside it may have disturbed is asked again alone; a schema is checked once
and validates as before; and the local cluster's workers are forked from a server that
loaded the engine. (What the environment omits to start sooner: tests/project/
test_environment.py.)
"""

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from instructor.grading.recheck.clean import DISTURBED, disturbed
from instructor.grading.sandbox.exits import FALLBACK_SECONDS, ProcessEnd

# A wait far longer than any process here lives: a wait that returns well before it was woken.
LONG_WAIT = 60.0


def _gone(pid, seconds=10.0):
    """Is the process gone (ended and reaped) within these seconds?"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return True
        time.sleep(0.05)
    return False


def test_does_a_wait_on_a_child_wake_when_it_ends():
    """The launcher waits on its sandbox's first process: the wait ends with the process, not
    with its timeout."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    end = ProcessEnd(child.pid)
    began = time.monotonic()
    end.sleep(LONG_WAIT)
    waited = time.monotonic() - began
    end.close()
    assert child.wait(timeout=10) == 0
    assert waited < LONG_WAIT / 2


def test_does_a_wait_on_a_process_forked_by_another_wake_when_it_ends():
    """The grader waits on a launcher the zygote forked: not its child, woken all the same."""
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, time\n"
         "pid = os.fork()\n"
         "if pid == 0:\n    time.sleep(0.3); os._exit(0)\n"
         "print(pid, flush=True); os.waitpid(pid, 0); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        grandchild = int(parent.stdout.readline())
        end = ProcessEnd(grandchild)
        began = time.monotonic()
        end.sleep(LONG_WAIT)
        waited = time.monotonic() - began
        end.close()
        assert waited < LONG_WAIT / 2
        # ended; the wait wakes when it ends, maybe just before its parent reaps it
        assert _gone(grandchild), "the process the wait woke for is still there"
    finally:
        parent.kill()
        parent.wait()


def test_without_a_pidfd_the_wait_checks_again_soon():
    """Where the system refuses a pidfd, a wait returns after FALLBACK_SECONDS to check again
    (canary: a wait that slept its whole timeout would take LONG_WAIT)."""
    end = ProcessEnd(os.getpid())
    end.close()  # as if pidfd_open had been refused
    began = time.monotonic()
    end.sleep(LONG_WAIT)
    assert time.monotonic() - began < LONG_WAIT / 2
    assert FALLBACK_SECONDS <= 0.1


def test_do_the_kernels_clients_share_one_zeromq_context_that_reconnects_soon(tmp_path):
    """Every client of the grader's kernels uses one context, whose sockets try again every
    RECONNECT_MS to reach a kernel still starting (jupyter_client would give each client a
    fresh context, with ZeroMQ's 100 ms); the manager's own context keeps its message limit."""
    import zmq

    from instructor.grading.sandbox import Limits
    from instructor.grading.sandbox.kernels import SandboxKernelClient, SandboxKernelManager
    from instructor.preprocessors.sandboxed_execute import (
        RECONNECT_MS,
        _client_context,
        _zmq_context,
    )

    def manager(name):
        return SandboxKernelManager(
            transport="ipc", ip=str(tmp_path / name), connection_file=str(tmp_path / f"{name}.json"),
            context=_zmq_context(Limits(max_output_mb=1.0)), client_context=_client_context(),
        )  # fmt: skip

    first, second = manager("a").client(), manager("b").client()
    assert isinstance(first, SandboxKernelClient)
    assert first.context is second.context is _client_context()
    client_socket = _client_context().socket(zmq.DEALER)
    manager_socket = _zmq_context(Limits(max_output_mb=1.0)).socket(zmq.DEALER)
    try:
        assert client_socket.getsockopt(zmq.RECONNECT_IVL) == RECONNECT_MS
        assert client_socket.getsockopt(zmq.MAXMSGSIZE) == -1  # output is cut message by message
        assert manager_socket.getsockopt(zmq.MAXMSGSIZE) == 3 * 2**20
    finally:
        client_socket.close()
        manager_socket.close()
    plain = SandboxKernelManager(transport="ipc", ip=str(tmp_path / "c")).client()
    assert plain.context is not first.context  # canary: jupyter_client's own default


# (the first answer of the re-check, run beside the notebook; is it asked again alone?)
ANSWERS = [
    (({"zeros": {"outcome": "called", "calls": []}}, None), False),
    (({"zeros": {"outcome": "missing"}}, None), False),
    (({"zeros": {"outcome": "cell_error", "error": {}}}, None), False),
    (({"zeros": {"outcome": "called"}, "he": {"outcome": "timeout"}}, None), True),
    (({"zeros": {"outcome": "too_large"}}, None), True),
    (({"zeros": {"outcome": "crashed", "signal": 9}}, None), True),
    ((None, "the re-check stopped without an answer (exit code 70)"), True),
]


@pytest.mark.parametrize("answer,again", ANSWERS, ids=[str(a[0]) for a, _ in ANSWERS])
def test_is_a_disturbed_answer_asked_again_alone(answer, again):
    """An answer that could owe something to the kernel beside it (it could not run, timed
    out, was too large or crashed) is asked again once the kernel has ended; the others are
    the answer's own."""
    assert disturbed(answer) is again


def test_every_disturbed_outcome_is_one_the_child_gives():
    """DISTURBED names outcomes the re-check's child really answers (canary for a typo)."""
    child = (ROOT / "instructor" / "grading" / "recheck" / "child.py").read_text()
    for outcome in DISTURBED:
        assert f'"outcome": "{outcome}"' in child


# --- a schema checked once -------------------------------------------------------------------

# (nbgrader cell metadata, the error jsonschema gives for it against nbgrader's schema or None)
METADATA = [
    ({"grade": True, "grade_id": "t", "locked": True, "points": 10, "schema_version": 3,
      "solution": False, "task": False}, None),
    ({"grade": True, "grade_id": "t", "locked": True, "points": "ten", "schema_version": 3,
      "solution": False, "task": False}, "'ten' is not of type 'number'"),
    ({"grade": "yes", "grade_id": "t", "locked": True, "points": 1, "schema_version": 3,
      "solution": False, "task": False}, "'yes' is not of type 'boolean'"),
]  # fmt: skip


def _validation_error(instance, schema):
    import jsonschema

    try:
        jsonschema.validate(instance, schema)
    except jsonschema.ValidationError as error:
        return error.message
    return None


def test_is_a_schema_that_passed_checked_once_and_a_bad_one_every_time():
    """The memo around the real Draft 4 check: nbgrader's schema is checked at its first use
    only; a schema that fails is refused at every use; a schema changed after it passed is
    checked again (canary: without the memo, every use checks)."""
    import jsonschema
    from jsonschema.validators import Draft4Validator
    from nbgrader.nbgraderformat import MetadataValidator

    from instructor.grading.startup import _once

    checks = []

    def counted(schema, *args, **kwargs):
        checks.append(1)
        Draft4Validator.check_schema(schema, *args, **kwargs)

    once = _once(counted)
    schema = json.loads(json.dumps(MetadataValidator().schema))
    for _ in range(5):
        once(schema)
    assert len(checks) == 1
    bad = {"type": "nonsense"}
    for _ in range(2):
        with pytest.raises(jsonschema.SchemaError):
            once(bad)
    assert len(checks) == 3
    schema["properties"]["points"]["type"] = "nonsense"  # changed after it passed
    with pytest.raises(jsonschema.SchemaError):
        once(schema)
    assert len(checks) == 4
    for _ in range(3):
        counted({"type": "object"})
    assert len(checks) == 7  # canary: the check itself counts every call


CHECKED_ONCE = """
import json, sys
from nbgrader.nbgraderformat import MetadataValidator
import jsonschema
if sys.argv[1] == "once":
    from instructor.grading.startup import check_schemas_once
    check_schemas_once()
    check_schemas_once()
schema = MetadataValidator().schema
errors = []
for instance in json.loads(sys.argv[2]):
    try:
        jsonschema.validate(instance, schema)
        errors.append(None)
    except jsonschema.ValidationError as error:
        errors.append(error.message)
print(json.dumps([errors, type(jsonschema.validators.Draft4Validator.check_schema).__name__]))
"""


@pytest.mark.slow  # two interpreters that import nbgrader: 2 to 4 s
def test_does_nbgrader_metadata_validate_as_before_with_its_schema_checked_once():
    """jsonschema's answers on nbgrader's cell metadata, valid and not, are the same with
    the schema checked once and without (in two fresh interpreters)."""
    instances = json.dumps([instance for instance, _ in METADATA])
    runs = {
        way: json.loads(
            subprocess.check_output([sys.executable, "-c", CHECKED_ONCE, way, instances], cwd=ROOT)
        )
        for way in ("once", "plain")
    }
    assert runs["once"][0] == runs["plain"][0] == [error for _, error in METADATA]
    assert runs["once"][1] == "function" and runs["plain"][1] == "method"  # canary: memo on


# --- the workers forked from a server with the engine loaded ---------------------------------

WORKERS = """
import json, os, signal, sys
from instructor.grading.dispatch import DaskRunner

def seen():
    import ctypes, signal, sys
    libc = ctypes.CDLL(None, use_errno=True)
    return {
        "parent": os.getppid(),
        "engine": "instructor.grading.worker" in sys.modules,
        "sigint_ignored": signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
        "dumpable": libc.prctl(3, 0, 0, 0, 0),  # PR_GET_DUMPABLE
    }

def server(pid):  # a fork server started by this process? (another may end meanwhile)
    try:
        return (b"forkserver" in open(f"/proc/{pid}/cmdline", "rb").read()
                and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid()))
    except OSError:
        return False

if sys.argv[1] == "changed":  # the environment changes after the server started
    from instructor.grading import fork_server
    fork_server.start()
    os.environ["INSTRUCTOR_TEST_CHANGED"] = "1"
with DaskRunner(workers=1) as runner:
    (found,) = runner.client.run(seen).values()
    found["main"] = os.getpid()
    found["server"] = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and server(pid)]
print(json.dumps(found))
"""


@pytest.mark.slow  # a local Dask cluster started twice: 5 to 10 s
def test_are_the_local_workers_forked_from_a_server_that_loaded_the_engine():
    """A worker of the local cluster is a fork of the fork server: the engine is loaded
    before its first task, it ignores Ctrl-C and is closed
    to other processes, and the server ends with the command. Canary: once the environment
    has changed since the server started, a worker is spawned the old way, without them."""
    forked = json.loads(
        subprocess.check_output([sys.executable, "-c", WORKERS, "forked"], cwd=ROOT)
    )
    (server,) = forked["server"]
    assert forked["parent"] == server, forked
    assert forked["engine"] is True
    assert forked["sigint_ignored"] is True
    assert forked["dumpable"] == 0
    assert _gone(server), "the fork server outlived the command"

    spawned = json.loads(
        subprocess.check_output([sys.executable, "-c", WORKERS, "changed"], cwd=ROOT)
    )
    assert spawned["parent"] == spawned["main"], spawned
    assert spawned["engine"] is False
