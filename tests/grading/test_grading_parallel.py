"""The grading command in parallel: on a local Dask cluster, on a separate Dask cluster whose
workers share no files with the course (TLS with certificates made by the test, as the docs
start one; a plain tcp:// scheduler refused), and with a worker killed in the middle of a task.

The reference is the serial route: the real `nbgrader autograde` of the demo class (conftest's
`graded_demo`). Scores must be identical per cell, and the autograded notebooks the same
(ignoring execution metadata, the course's location, and how the kernel happened to split its
stream output into messages).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from answers import STUDENTS, build_demo
from conftest import copy_course, shares_of
from corpus import build as corpus
from harness import ASSIGNMENT, BIN, NOTEBOOK_ID, course_env
from nbgrader.api import Gradebook

pytestmark = [pytest.mark.slow, pytest.mark.heavy]


def grade(root, *args, timeout=900, **env):
    """Run `python -m instructor grade` in a course, with these environment variables more;
    return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "instructor", "grade", *args],
        cwd=root,
        env=course_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


DEMO_DB = "demo/gradebook.db"  # the demo class's own gradebook (demo/nbgrader_config.py)


def cell_scores(root, students, db="gradebook.db"):
    """{student: {grade cell: score}} from a course's gradebook (or the demo class's)."""
    with Gradebook(f"sqlite:///{Path(root) / db}") as gb:
        return {
            s: {
                g.name: g.score
                for g in gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, s).grades
            }
            for s in students
        }


def comparable(path, root):
    """An autograded notebook as JSON, without what legitimately differs between two runs."""
    text = Path(path).read_text().replace(str(Path(root).resolve()), "<course>")
    nb = json.loads(text)
    for cell in nb["cells"]:
        cell["metadata"].pop("execution", None)
        merged = []
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), list):  # lines as saved; streams are joined below
                output["text"] = "".join(output["text"])
            same_stream = (
                merged
                and output["output_type"] == "stream"
                and merged[-1]["output_type"] == "stream"
                and merged[-1]["name"] == output["name"]
            )
            if same_stream:
                merged[-1]["text"] += output["text"]
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged
    return nb


@pytest.fixture(scope="module")
def demo_graded_in_parallel(tmp_path_factory):
    """A quick course copy, as graded_demo's, whose demo class the command graded on a local
    Dask cluster, with a temporary folder of its own beside the course (TMPDIR)."""
    root = corpus.fast_course(tmp_path_factory.mktemp("parallel") / "course", copy_course)
    build_demo(root)
    (root.parent / "tmp").mkdir()
    run = grade(root, "--demo", "--workers", "2", TMPDIR=str(root.parent / "tmp"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root, run


def test_parallel_and_nbgrader_give_identical_scores_per_cell(demo_graded_in_parallel, graded_demo):
    """Does the local Dask cluster give every demo student nbgrader's score in every cell?"""
    root, _ = demo_graded_in_parallel
    students = sorted(STUDENTS)
    assert cell_scores(root, students, DEMO_DB) == cell_scores(graded_demo, students)


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_parallel_and_nbgrader_write_the_same_autograded_notebook(
    demo_graded_in_parallel, graded_demo, student
):
    """Is autograded/<student>/ what `nbgrader autograde` writes, file by file?"""
    root, _ = demo_graded_in_parallel
    ours = root / "demo" / "autograded" / student / ASSIGNMENT
    theirs = graded_demo / "autograded" / student / ASSIGNMENT
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in theirs.iterdir())
    notebook = f"{NOTEBOOK_ID}.ipynb"
    # the demo class's course folder is demo/ (its autograded/ is demo/autograded/)
    assert comparable(ours / notebook, root / "demo") == comparable(theirs / notebook, graded_demo)


def test_the_command_ends_with_the_summary_and_the_score_table(demo_graded_in_parallel):
    """Does the output say how the class was graded, then show every student's scores?"""
    _, run = demo_graded_in_parallel
    # forked from the server that loaded the engine (grading/fork_server.py)
    assert "on a local Dask cluster of 2 worker processes, forked with the engine loaded" in (
        run.stdout
    )
    assert "9 graded, 0 rejected, 0 failed; 0 flagged for review" in run.stdout
    assert re.search(r"^demo-xavier\s+10\s+10\s+5\s+25$", run.stdout, re.M)
    assert len(re.findall(r"^\[\d/9\] demo-", run.stdout, re.M)) == 9  # plain progress lines


def test_the_cluster_leaves_nothing_in_the_shared_temporary_folder(demo_graded_in_parallel):
    """Did the local cluster, its scheduler included, keep its scratch space in a folder of its
    own and remove it, leaving nothing in the temporary folder every account shares (where
    Dask's default dask-scratch-space belongs to whoever made it first)?"""
    root, _ = demo_graded_in_parallel
    assert sorted(path.name for path in (root.parent / "tmp").iterdir()) == []


def test_a_second_run_grades_only_what_changed(demo_graded_in_parallel):
    """Are unchanged submissions skipped, and a changed one graded again?"""
    root, _ = demo_graded_in_parallel
    changed = root / "demo" / "submitted" / "demo-untouched" / ASSIGNMENT / "timestamp.txt"
    changed.write_text("2026-11-01 10:00:00.000000 UTC")
    run = grade(root, "--demo", "--serial")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Done: 1 submission(s)" in run.stdout
    assert "8 unchanged, not graded again" in run.stdout
    with Gradebook(f"sqlite:///{root / DEMO_DB}") as gb:
        submission = gb.find_submission(ASSIGNMENT, "demo-untouched")
        assert submission.timestamp.year == 2026 and submission.timestamp.month == 11


# --- a separate cluster -------------------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fast_demo_course(tmp_path_factory):
    """A course copy with a quicker notebook and the demo class built from its release."""
    root = corpus.fast_course(tmp_path_factory.mktemp("cluster") / "course", copy_course)
    build_demo(root)
    return root


def make_certificates(folder):
    """A certificate authority of the cluster's own and, signed by it, a certificate and key
    for the scheduler, the workers and the instructor (as docs/administrators.md makes them
    with openssl), each key readable by its owner alone; {role: (cert, key)} and "ca"."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def write(path, data, mode):
        path.write_bytes(data)
        path.chmod(mode)
        return str(path)

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())

    def certificate(subject, key, issuer, authority):
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject)).issuer_name(name(issuer))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=authority, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip

    pem = serialization.Encoding.PEM
    ca = certificate("grading-cluster-ca", ca_key, "grading-cluster-ca", True)
    found = {"ca": write(folder / "ca.pem", ca.public_bytes(pem), 0o644)}
    for role in ("scheduler", "worker", "instructor"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = certificate(f"grading-{role}", key, "grading-cluster-ca", False)
        found[role] = (
            write(folder / f"{role}.pem", cert.public_bytes(pem), 0o644),
            write(folder / f"{role}.key", key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600),
        )  # fmt: skip
    return found


class Cluster:
    """A running TLS cluster: its address, the certificates, and the test's own client (with
    the instructor's certificate)."""

    def __init__(self, address, certs, client):
        self.address, self.certs, self.client = address, certs, client

    def options(self):
        """The command's options that give it the instructor's certificate."""
        cert, key = self.certs["instructor"]
        return ["--tls-ca-file", self.certs["ca"], "--tls-cert", cert, "--tls-key", key]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real `dask scheduler` and two `dask worker`s on 127.0.0.1, with TLS and mutual
    authentication (certificates made here), started as docs/administrators.md says, from an
    empty folder with no access to the course's code (it is uploaded by the command)."""
    from distributed import Client
    from distributed.security import Security

    home = tmp_path_factory.mktemp("dask")
    certs = make_certificates(home)
    address = f"tls://127.0.0.1:{_free_port()}"
    env = {"PATH": f"{BIN}{os.pathsep}/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    common = dict(cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def tls(role):
        return [
            "--tls-ca-file",
            certs["ca"],
            "--tls-cert",
            certs[role][0],
            "--tls-key",
            certs[role][1],
        ]

    scheduler = subprocess.Popen(
        [f"{BIN}/dask", "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port",
         address.rsplit(":", 1)[1], *tls("scheduler"), "--no-dashboard", "--dashboard-address",
         "127.0.0.1:0"], **common,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [
                f"{BIN}/dask",
                "worker",
                address,
                *tls("worker"),
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--local-directory",
                str(home / f"w{i}"),
            ],
            **common,
        )  # fmt: skip
        for i in range(2)
    ]
    cert, key = certs["instructor"]
    security = Security(
        require_encryption=True, tls_ca_file=certs["ca"], tls_client_cert=cert, tls_client_key=key
    )
    client = Client(address, timeout="60s", security=security)
    client.wait_for_workers(2, timeout=120)
    yield Cluster(address, certs, client)
    client.close()
    for process in [*workers, scheduler]:
        process.terminate()
    for process in [*workers, scheduler]:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_separate_cluster_gives_identical_scores(fast_demo_course, dask_cluster, graded_demo):
    """Graded through a TLS scheduler and two workers that see none of the course's files,
    with the instructor's certificate given on the command line, does the demo class get
    exactly the serial scores?"""
    address = dask_cluster.address
    run = grade(fast_demo_course, "--demo", "--scheduler", address, *dask_cluster.options())
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"on the Dask cluster at {address}" in run.stdout
    students = sorted(STUDENTS)
    assert cell_scores(fast_demo_course, students, DEMO_DB) == cell_scores(graded_demo, students)


def test_the_separate_cluster_admits_no_client_without_its_certificate(dask_cluster):
    """Does the cluster started as the docs say refuse a plain TCP client, and a TLS client
    whose certificate its authority did not sign (a stranger's own)?"""
    from distributed import Client
    from distributed.security import Security

    plain = dask_cluster.address.replace("tls://", "tcp://")
    for address, security in ((plain, None), (dask_cluster.address, Security.temporary())):
        with pytest.raises(OSError):
            Client(address, timeout="5s", security=security)


def test_a_plain_tcp_scheduler_is_refused_unless_asked_for_by_name(fast_demo_course, dask_cluster):
    """Is the cluster's port named as tcp:// refused before anything is read, in one line that
    says why and names the ways out? (Each other refusal: tests/grading/test_configuration.py.)"""
    address = dask_cluster.address.replace("tls://", "tcp://")
    run = grade(fast_demo_course, "--demo", "--scheduler", address)
    assert (run.returncode, run.stderr) == (2, ""), run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.splitlines() == [
        f"Cannot grade initialization: {address} is a plain TCP scheduler, which runs the code "
        "of any account that reaches its port and sees every submission sent to it: start the "
        "cluster with TLS and give tls://HOST:PORT with --tls-ca-file, --tls-cert and "
        "--tls-key, or --plain-tcp-scheduler to use it anyway."
    ]


def _busy_worker(client, batch, student, timeout=300):
    """(address, pid) of the worker that is grading this student's submission."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert batch.poll() is None, batch.communicate()[0][-3000:]
        workers = client.scheduler_info()["workers"]
        for address, keys in client.processing().items():
            if address in workers and any(
                re.match(rf"grade-{student}-[0-9a-f]{{8}}$", str(key)) for key in keys
            ):
                return address, client.run(os.getpid, workers=[address])[address]
        time.sleep(0.1)
    raise AssertionError(f"no worker started grading {student}")


# A cell the demo-slow student added, which sleeps while the kernel runs it: a submission on
# the cells the grade needs is graded in well under a second, too soon to kill its worker.
SLOW_CELL = "import time\ntime.sleep(SLEEP)"


def test_a_task_whose_worker_is_killed_is_graded_elsewhere(fast_demo_course, dask_cluster):
    """When the worker grading a submission is killed mid-task, is the task run again on
    another worker, and does the batch complete with every submission graded?"""
    address, client = dask_cluster.address, dask_cluster.client
    ca, (cert, key) = dask_cluster.certs["ca"], dask_cluster.certs["instructor"]
    config = fast_demo_course / "nbgrader_config.py"
    before = config.read_text()
    config.write_text(  # the certificate given in the configuration this time
        f"{before}\nc.CourseGrading.tls_ca_file = {ca!r}\nc.CourseGrading.tls_cert = {cert!r}\n"
        f"c.CourseGrading.tls_key = {key!r}\n"
    )
    try:
        _kill_a_busy_worker(fast_demo_course, address, client)
    finally:
        config.write_text(before)


def _kill_a_busy_worker(fast_demo_course, address, client):
    victim = "demo-slow"
    submitted = fast_demo_course / "demo" / "submitted"
    slow = nbformat.read(submitted / "demo-correct" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    slow.cells.append(nbformat.v4.new_code_cell(SLOW_CELL.replace("SLEEP", "6")))
    (submitted / victim / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(slow, submitted / victim / ASSIGNMENT / corpus.NOTEBOOK)
    students = ["demo-correct", "demo-xavier", victim]
    command = [sys.executable, "-m", "instructor", "grade", "--demo", "--force", "--scheduler",
               address, "--cell-timeout", "60", "--notebook-timeout", "120", *students]  # fmt: skip
    batch = subprocess.Popen(
        command, cwd=fast_demo_course, env=course_env(), stdout=subprocess.PIPE, text=True
    )
    killed, pid = _busy_worker(client, batch, victim)
    time.sleep(2)  # well inside the task: its kernel is running the sleeping cell
    os.kill(pid, signal.SIGKILL)
    out, _ = batch.communicate(timeout=900)
    assert batch.returncode == 0, out[-3000:]
    summary = json.loads(
        (fast_demo_course / "demo" / "reports" / ASSIGNMENT / "grading.json").read_text()
    )
    assert {summary["students"][s]["status"] for s in students} == {"graded"}
    assert summary["students"][victim]["worker"] != killed  # graded again, elsewhere
    assert cell_scores(fast_demo_course, [victim], DEMO_DB)[victim]
    assert "3 graded, 0 rejected, 0 failed" in out
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_without_namespaces_the_clean_recheck_still_defeats_reading_the_hidden_tests(
    fast_demo_course,
):
    """With resource limits only (no Linux namespaces), the notebook can read the source's
    hidden tests while it runs; does the clean re-check still score the answer on its own,
    flag it, and leave an honest submission alone?"""
    release = nbformat.read(fast_demo_course / "release" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    corpus.build(
        release, fast_demo_course / "submitted", fast_demo_course, ["reads-hidden-tests", "correct"]
    )
    run = grade(
        fast_demo_course, "--serial", "--isolation", "limits", "reads-hidden-tests", "correct"
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "(isolation: limits)" in run.stdout
    summary = json.loads((fast_demo_course / "reports" / ASSIGNMENT / "grading.json").read_text())
    cheat, honest = summary["students"]["reads-hidden-tests"], summary["students"]["correct"]
    full = shares_of(1, 1, 1)
    assert tuple(cheat["scores"].values()) == shares_of(1, 1, 0.5)
    claimed = f"he: the notebook's run reported {full[2]:g} / {full[2]:g}"
    assert any(f.startswith(claimed) for f in cheat["flags"])
    assert tuple(honest["scores"].values()) == full and not honest["flags"]
