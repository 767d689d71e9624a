"""The doors of the instructor's account: can another account of the machine act as the
instructor through any socket the grading opens, or any file of the instructor's it can write?

A shared server, made by the test: the instructor is an ordinary Unix account (`teacher`) that
owns a quick course, made its exchange (`exchange init`) and runs the grade-on-submit service
(`python -m instructor watch`), then a batch (`python -m instructor grade`), both confining
student code with Landlock, two submissions at a time: its kernels then run as the
instructor, in the machine's network (namespaces would give each a user and a network of its
own). Another account (`prober`, a student with a terminal) tries every door while that runs:

- the inventory, taken by root every fifth of a second: every listening TCP socket whose owner
  is the instructor (the uid column of /proc/<pid>/net/tcp, tcp6), and every listening Unix
  socket that a process of the instructor's holds (the inodes of /proc/<pid>/fd against
  /proc/<pid>/net/unix, read in each process's own network namespace, the sandboxed kernels'
  included); every three seconds, every file or folder of the instructor's where an account can
  create files on this machine (its home, the course, /tmp, /var/tmp, /dev/shm, /run/lock)
  and every file its processes hold open;
- each door, tried by the prober as soon as it is seen: a TCP socket is connected to, spoken
  to in TLS without a certificate, in HTTP (a few paths of Dask's pages), and in Dask
  (`distributed.Client` over tcp:// and over tls:// with a certificate of the prober's own),
  where `client.run(f)` and `client.run_on_scheduler(f)` would run f, which writes a marker
  file and returns its uid; a Unix socket is connected to; a file is checked for write access
  (`os.access`, which counts groups and ACLs).

Nothing of the prober's may run as the instructor (no marker, no uid returned), no file of the
instructor's may be writable by the prober unless JUSTIFIED_FILES names it, and every socket
must match an entry of JUSTIFIED, which says what it is, why it is there and how it answered:
a socket added later fails the test until it is named there. The canary runs the same probe
against a plain LocalCluster started by the instructor's account: the prober's function runs
there, as the instructor.
"""

import concurrent.futures
import json
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from test_watch import Class
from unix_users import needs_root, unix_user

pytestmark = [pytest.mark.slow, pytest.mark.heavy, needs_root]

WAIT = 600  # seconds a feedback may take, at most, on a busy machine
HTTP_PATHS = ("/", "/health", "/info/main/workers.html", "/json/identity.json", "/metrics")

# --- the prober: another account's process, which tries what it is told ----------------------

PROBE = r"""
import errno, json, os, socket, ssl, sys, threading, uuid, urllib.request
MARKS = sys.argv[1]

def mark():  # run by the target, if it lets the prober's code run: as the instructor
    import os, uuid
    path = os.path.join(MARKS, uuid.uuid4().hex)
    with open(path, "w") as f:
        f.write(str(os.getuid()))
    return os.getuid()

def error(e):
    code = errno.errorcode.get(getattr(e, "errno", None) or 0)
    return f"{type(e).__name__}{'(' + code + ')' if code else ''}: {e}"[:300]

def tcp(address):
    host, port = address.rsplit(":", 1)
    found = {}
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        found["connect"] = "connected"
    except OSError as e:
        found["connect"] = error(e)
        return found
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:  # TLS without a certificate: the server asks for one (TLS 1.3 says so at the first
        # read; nothing is sent first: data the server never reads turns its alert into a reset)
        with context.wrap_socket(socket.create_connection((host, int(port)), timeout=5)) as s:
            s.recv(1)
        found["tls"] = "accepted"
    except (OSError, ssl.SSLError) as e:
        found["tls"] = error(e)
    found["http"] = {}
    for path in json.loads(sys.argv[2]):
        try:
            with urllib.request.urlopen(f"http://{address}{path}", timeout=3) as answer:
                found["http"][path] = f"{answer.status}: {answer.read(200)!r}"
        except urllib.error.HTTPError as e:
            found["http"][path] = str(e.code)
        except Exception as e:
            found["http"][path] = error(e)
    # Dask's client waits for ever on a server that never answers its handshake (an HTTP
    # server waiting for the end of a request line): each attempt runs in a thread given a
    # while, a short one where the door answered HTTP, a long one elsewhere (a busy machine)
    speaks_http = any(answer[:3].isdigit() for answer in found["http"].values())
    wait = 10 if speaks_http else 60
    attempts = {}  # both at once
    for way, url, security in (("dask-tcp", f"tcp://{address}", None),
                               ("dask-tls-own-certificate", f"tls://{address}", OWN)):
        answer = [f"no answer in {wait} s"]
        thread = threading.Thread(target=dask, args=(url, security, answer), daemon=True)
        thread.start()
        attempts[way] = thread, answer
    for way, (thread, answer) in attempts.items():
        thread.join(wait)
        found[way] = answer[-1]
    return found

def dask(url, security, answer):
    try:
        client = Client(url, timeout="10s", security=security)
    except Exception as e:
        answer.append(error(e))
        return
    ran = {}
    for call in ("run", "run_on_scheduler"):
        try:
            ran[call] = repr(getattr(client, call)(mark))
        except Exception as e:
            ran[call] = error(e)
    answer.append("connected; " + json.dumps(ran))
    client.close()

def unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect("\0" + path[1:] if path.startswith("@") else path)
        return {"connect": "connected"}
    except OSError as e:
        return {"connect": error(e)}
    finally:
        s.close()

lock = threading.Lock()
# loaded before the first request, not in its time: importing Dask and making a key take
# seconds on a busy machine
from distributed import Client
from distributed.security import Security
OWN = Security.temporary()  # a certificate of the prober's own

def handle(request):
    if "tcp" in request:
        answer = tcp(request["tcp"])
    elif "unix" in request:
        answer = unix(request["unix"])
    else:
        answer = {"writable": [p for p in request["files"] if os.access(p, os.W_OK)]}
    with lock:
        print(json.dumps({"id": request["id"], "uid": os.getuid(), **answer}), flush=True)

for line in sys.stdin:  # each request in a thread of its own: the doors are tried at once
    threading.Thread(target=handle, args=(json.loads(line),), daemon=True).start()
"""


class Prober:
    """The other account's probing process: ask it to try a door (from any thread: it tries
    several at once), get its answer."""

    def __init__(self, user, marks):
        self.user = user
        self.process = user.popen(
            [sys.executable, "-c", PROBE, str(marks), json.dumps(HTTP_PATHS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.lock, self.count = threading.Lock(), 0
        self.answers, self.waiting = {}, {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            answer = json.loads(line)
            self.answers[answer["id"]] = answer
            self.waiting.pop(answer["id"]).set()

    def ask(self, **request):
        with self.lock:
            self.count += 1
            number, done = self.count, threading.Event()
            self.waiting[number] = done
            self.process.stdin.write(json.dumps({"id": number, **request}) + "\n")
            self.process.stdin.flush()
        assert done.wait(120), f"the prober did not answer {request}"
        answer = self.answers.pop(number)
        assert answer["uid"] == self.user.uid  # the probe is the other account's
        return answer

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


# --- the inventory, read by root ---------------------------------------------------------------


def _address(hexa):
    """An address of /proc/net/tcp, tcp6 ("0100007F:1F90") as "127.0.0.1:8080"."""
    ip, port = hexa.split(":")
    raw = bytes.fromhex(ip)
    if len(raw) == 4:
        host = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # four 32-bit words, each in the machine's (little-endian) order
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        host = "[" + socket.inet_ntop(socket.AF_INET6, words) + "]"
    return f"{host}:{int(port, 16)}"


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _processes(uid):
    """{pid: (ppid, command line)} of the account's processes."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            stat = _read(f"/proc/{name}/stat")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            command = _read(f"/proc/{name}/cmdline").replace("\0", " ").strip()
        except (OSError, IndexError, ValueError):
            continue
        found[int(name)] = (ppid, command)
    return found


def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def listening(uid):
    """The listening sockets of the account's processes: [(kind, address, pid)], TCP by the
    uid that owns each, Unix by the inodes each process holds; every network namespace of its
    processes is read (a sandboxed kernel has its own)."""
    found, namespaces = [], {}
    processes = _processes(uid)
    for pid in processes:
        try:
            namespaces.setdefault(os.readlink(f"/proc/{pid}/ns/net"), pid)
        except OSError:
            continue
    holders = {inode: pid for pid in processes for inode in _socket_inodes(pid)}
    for pid in namespaces.values():
        for table in ("tcp", "tcp6"):
            for line in _read(f"/proc/{pid}/net/{table}").splitlines()[1:]:
                f = line.split()
                if f[3] == "0A" and int(f[7]) == uid:  # LISTEN, the account's
                    found.append(("tcp", _address(f[1]), holders.get(f[9], pid)))
        for line in _read(f"/proc/{pid}/net/unix").splitlines()[1:]:
            f = line.split()
            listens = int(f[3], 16) & 0x10000  # __SO_ACCEPTCON
            if listens and f[6] in holders:
                found.append(("unix", f[7] if len(f) > 7 else "(unnamed)", holders[f[6]]))
    return found, processes


WRITABLE_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/home")


def owned_files(user, processes, roots):
    """The account's files and folders where accounts can create them on this machine, and
    those its processes hold open (no symbolic link: its own mode means nothing). A folder
    the account can neither own nor write into (by its mode: every account's, or a group of
    the account's) cannot hold a file it made, and is not walked."""
    groups = set(os.getgrouplist(user.name, user.gid))

    def reachable(info):
        return (
            info.st_uid == user.uid
            or info.st_mode & 0o002
            or (info.st_mode & 0o020 and info.st_gid in groups)
        )

    found = set()
    for root in roots:
        for folder, folders, files in os.walk(root, onerror=lambda error: None):
            kept = []
            for name in [*folders, *files]:
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISLNK(info.st_mode):
                    continue
                if info.st_uid == user.uid:
                    found.add(path)
                if stat.S_ISDIR(info.st_mode) and reachable(info):
                    kept.append(name)
            folders[:] = [name for name in folders if name in kept]
        try:
            if os.stat(root).st_uid == user.uid:
                found.add(root)
        except OSError:
            pass
    for pid in processes:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("/") and not target.endswith(" (deleted)"):
                    if os.stat(target).st_uid == user.uid:
                        found.add(target)
        except OSError:
            continue
    return found


# --- the doors, and what justifies each ---------------------------------------------------------


@dataclass
class Door:
    kind: str  # tcp, unix
    address: str
    role: str  # which of the instructor's processes holds it (`role`)
    command: str
    probe: dict = field(default_factory=dict)

    def behaviour(self):
        """What the probe found, in the words of JUSTIFIED."""
        p = self.probe
        if self.kind == "unix":
            if "EACCES" in p["connect"]:
                return "closed"
            return "gone" if p.get("gone") else f"open ({p['connect']})"
        if not re.match(r"127\.|\[::1\]", self.address):
            return "beyond the loopback"
        if p["connect"] != "connected":
            return "gone" if p.get("gone") else f"refuses the connection ({p['connect']})"
        dask = [p.get("dask-tcp", ""), p.get("dask-tls-own-certificate", "")]
        if any(answer.startswith("connected") for answer in dask):
            return f"speaks Dask to a stranger ({dask})"
        if "CERTIFICATE_REQUIRED" in p["tls"] or "certificate required" in p["tls"]:
            return "TLS, a certificate required"
        if set(p["http"].values()) == {"404"}:
            return "HTTP, every route off"
        return f"open ({p})"


# (role, kind, address pattern, behaviour, why it is there)
JUSTIFIED = [
    ("command", "tcp", r"127\.0\.0\.1:\d+", "TLS, a certificate required",
     "the local cluster's scheduler and each worker's nanny, in the command's process: Dask "
     "comms, TLS with mutual authentication by the certificate made for this cluster "
     "(grading/cluster_security.py)"),
    ("command", "tcp", r"127\.0\.0\.1:\d+", "HTTP, every route off",
     "the scheduler's HTTP server, which Dask always starts: on the loopback, no route"),
    ("worker", "tcp", r"127\.0\.0\.1:\d+", "TLS, a certificate required",
     "a worker's Dask comm: TLS, as the scheduler's"),
    ("worker", "tcp", r"127\.0\.0\.1:\d+", "HTTP, every route off",
     "a worker's HTTP server, which Dask always starts: on the loopback, no route"),
    ("fork server", "unix", r"/tmp/pymp-\w+/listener-\w+", "closed",
     "multiprocessing's fork server, which forks the workers (grading/fork_server.py): a "
     "socket in a folder of the instructor's with mode 0700"),
    ("worker", "unix", r"/tmp/pymp-\w+/listener-\w+", "closed",
     "multiprocessing's fork server, which forks the workers (grading/fork_server.py): the same "
     "socket, still held by a worker between its fork and its first step, which closes it "
     "(multiprocessing.forkserver); a busy machine stretches that moment"),
    ("sandbox", "unix", r"/tmp/igrade-\d+-\w+/ipc/k-\d+", "closed",
     "a sandboxed kernel's ZeroMQ channels (transport ipc, preprocessors/sandboxed_execute.py): in its task's "
     "private workspace, mode 0700; each message is signed with the kernel's key besides"),
]  # fmt: skip
# Files of the instructor's that other accounts may write, and why.
JUSTIFIED_FILES = [
    (r".*/exchange", "the exchange's root: nbgrader needs it writable by all; sticky (exchange init)"),
    (r".*/exchange/initialization-course/inbound",
     "the inbound folder: every student adds a submission; sticky, not listable (mode 3733)"),
]  # fmt: skip


def justification(door):
    """The entry of JUSTIFIED that the door matches, or None."""
    for role, kind, pattern, behaviour, why in JUSTIFIED:
        if (door.role, door.kind) == (role, kind) and re.fullmatch(pattern, door.address):
            if door.behaviour() in (behaviour, "gone"):
                return why
    return None


def role(pid, main, processes):
    """Which of the command's processes this is: the command itself (the scheduler, the
    nannies, the client), the fork server, a worker (forked from it, or spawned), or what a
    worker starts (the sandbox's launcher, the kernel zygote, kernels, re-checks)."""
    lineage, current = [], pid
    while current in processes and current not in lineage:
        lineage.append(current)
        current = processes[current][0]
    command = processes.get(pid, (0, ""))[1]
    parent = processes.get(processes.get(pid, (0, ""))[0], (0, ""))[1]
    if pid == main:
        return "command"
    if "multiprocessing.forkserver" in parent or "multiprocessing.spawn" in command:
        return "worker"  # (a fork of the fork server has its command line)
    if "multiprocessing.forkserver" in command:
        return "fork server"
    if "resource_tracker" in command:
        return "resource tracker"
    if main in lineage:
        return "sandbox"
    return "other"


class Inventory:
    """Root's watch over the instructor's account while a command runs: every door seen, each
    tried by the prober as soon as it is seen (the Unix sockets, which a kernel holds for a
    second, at once; the TCP ones, which live as long as the cluster, several at a time
    beside); every three seconds, the files it could write."""

    def __init__(self, user, prober, roots=WRITABLE_ROOTS):
        self.user, self.prober, self.roots = user, prober, roots
        self.doors = {}  # (kind, address, pid): Door
        self.files, self.writable = set(), set()
        self.main = None
        self.pool = concurrent.futures.ThreadPoolExecutor(8)
        self.tries = []
        self.stop = threading.Event()
        self.threads = []

    def watch(self, main):
        """Start watching; main: the pid of the command (its role is "command")."""
        self.main = main
        for loop in (self._sockets, self._files):
            self.threads.append(threading.Thread(target=loop, daemon=True))
            self.threads[-1].start()

    def end(self):
        """Stop watching, once every door seen has been tried."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)
        for attempt in self.tries:
            attempt.result()
        self.pool.shutdown()

    def _sockets(self):
        while not self.stop.is_set():
            self.scan()
            self.stop.wait(0.2)

    def _files(self):
        while not self.stop.is_set():
            self.scan_files()
            self.stop.wait(3)

    def scan(self):
        """List the doors; try each new one: a Unix socket now, a TCP one in the pool."""
        sockets, processes = listening(self.user.uid)
        for kind, address, pid in sockets:
            key = (kind, address, pid)
            if key in self.doors:
                continue
            door = self.doors[key] = Door(kind, address, role(pid, self.main, processes),
                                          processes[pid][1])  # fmt: skip
            if kind == "unix":
                self.try_door(door, pid)
            else:
                self.tries.append(self.pool.submit(self.try_door, door, pid))

    def try_door(self, door, pid):
        door.probe = self.prober.ask(**{door.kind: door.address})
        if "EACCES" in json.dumps(door.probe):
            return
        still = {(k, a) for k, a, _ in listening(self.user.uid)[0]}
        # closed before the probe could tell: no longer listening, or (a kernel's socket, whose
        # folder goes before its process ends) its file no longer there for its holder either
        named = door.kind == "unix" and door.address.startswith("/")
        if (door.kind, door.address) not in still or (
            named and not os.path.lexists(f"/proc/{pid}/root{door.address}")
        ):
            door.probe["gone"] = True

    def scan_files(self):
        _, processes = listening(self.user.uid)
        new = owned_files(self.user, processes, self.roots) - self.files
        self.files |= new
        if new:
            self.writable |= set(self.prober.ask(files=sorted(new))["writable"])

    def table(self):
        """Every door and how it answered, one line each (shown with a failure)."""
        return "\n".join(
            f"{d.kind} {d.address} of the {d.role}: {d.behaviour()[:100]}; {json.dumps(d.probe)}"
            for d in self.doors.values()
        )

    def problems(self, marks):
        """Every door that let the prober in or is on no list, and every marker the prober's
        code left: one line each."""
        found = []
        for door in self.doors.values():
            if justification(door) is None:
                found.append(
                    f"{door.kind} {door.address} of the {door.role} ({door.command[:120]}): "
                    f"{door.behaviour()}: on no list"
                )
        for path in sorted(self.writable):
            if not any(re.fullmatch(pattern, path) for pattern, _ in JUSTIFIED_FILES):
                found.append(f"{path}: the prober can write it")
        for marker in sorted(Path(marks).iterdir()):
            found.append(f"the prober's code ran as uid {marker.read_text()} ({marker.name})")
        return found

    def seen(self):
        """The justifications met: which doors the run had."""
        return {
            justification(door) for door in self.doors.values() if door.behaviour() != "gone"
        } - {None}


# --- the run -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    """The instructor, the prober, and a folder where anyone may write: the prober's code,
    should it run as the instructor, leaves its marker there."""
    marks = Path(f"/tmp/instructor-sockets-marks-{secrets.token_hex(4)}")
    marks.mkdir(mode=0o777)
    marks.chmod(0o1777)
    try:
        with unix_user("tteach") as teacher, unix_user("tprobe") as other:
            prober = Prober(other, marks)
            try:
                yield teacher, prober, marks
            finally:
                prober.close()
    finally:
        for marker in marks.iterdir():
            marker.unlink()
        marks.rmdir()


# Both commands confine student code with Landlock here, two submissions at a time: the mode
# whose kernels share the instructor's user and network namespace (namespaces give each its own),
# so every socket they open is in the inventory's reach; and the one whose process limit the
# commands must warn of.
LANDLOCK_SIDE_BY_SIDE = ("--isolation", "landlock", "--workers", "2")


@pytest.fixture(scope="module")
def graded(accounts, tmp_path_factory):
    """The grade-on-submit service, run by the instructor's account, grades a burst of three
    submissions, then the instructor grades them again in a batch; the inventory of each."""
    teacher, prober, marks = accounts
    started = time.monotonic()

    def step(what):  # the time each step took: pytest shows it with the output of a failure
        print(f"{time.monotonic() - started:6.1f} s  {what}", flush=True)

    room = Class(tmp_path_factory.mktemp("sockets"), grader=teacher)
    step("the course made, released to its exchange")
    roots = (*WRITABLE_ROOTS, str(room.course))
    inventories = {"watch": Inventory(teacher, prober, roots),
                   "grade": Inventory(teacher, prober, roots)}  # fmt: skip
    room.start(*LANDLOCK_SIDE_BY_SIDE)
    step("the service started")
    try:
        inventories["watch"].watch(room.service.pid)
        # three students at once, one whose last cell sleeps, to keep its kernel up a while
        for student, scenario, linger in (("alice", "correct", 0), ("bob", "xavier", 0),
                                          ("carol", "correct", 4)):  # fmt: skip
            room.answer_and_submit(student, scenario, linger=linger)
        step("three submissions made")
        for student in ("alice", "bob", "carol"):
            room.wait_for(lambda s=student: room.steps(s, "fed back"), f"{student}'s feedback")
        step("three fed back")
        inventories["watch"].end()
        step("every door tried")
        assert room.stop() == 0
    finally:
        if room.service is not None:
            room.stop(signal.SIGKILL)
    batch = teacher.popen(
        [sys.executable, "-m", "instructor", "grade", "--force", *LANDLOCK_SIDE_BY_SIDE],
        cwd=room.course, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    inventories["grade"].watch(batch.pid)
    out, _ = batch.communicate(timeout=WAIT)
    step("the batch graded")
    inventories["grade"].end()
    step("every door tried")
    assert batch.returncode == 0, out[-3000:]
    assert "3 graded, 0 rejected, 0 failed" in out, out[-3000:]
    inventories["said"] = {"watch": room.log.read_text(), "grade": out}
    inventories["seconds"] = time.monotonic() - started
    return inventories


@pytest.mark.parametrize("command", ["watch", "grade"])
def test_each_command_warns_of_the_process_limit_it_shares(graded, command):
    """Landlock, the instructor an ordinary account, two workers: does the service say when it
    starts, and the batch in its summary, that the process limit counts the whole account, so
    that a fork bomb can make a grading beside it fail, and what to give instead (--workers 1)?
    (tests/grading/test_isolation_modes.py: one worker, and the line is not there.)"""
    said = graded["said"][command]
    mode = {"watch": "initialization: ready; isolation: landlock (asked for by name",
            "grade": "Isolation: landlock (asked for by name"}  # fmt: skip
    assert mode[command] in said, said[:3000]
    warning = (
        "SHARED PROCESS LIMIT: with landlock run by an ordinary account, the process limit "
        "counts this whole account, so a fork bomb can make a grading beside it fail; "
        "--workers 1 grades one submission at a time"
    )
    assert said.count(warning) == 1, said[:3000]


@pytest.mark.parametrize("command", ["watch", "grade"])
def test_no_door_of_the_instructor_lets_another_account_in(graded, accounts, command):
    """While the service grades a burst, and while a batch runs: does every socket and
    writable file of the instructor's match a justified entry, and did nothing the prober
    sent run as the instructor?"""
    marks = accounts[2]
    inventory = graded[command]
    print(inventory.table())
    problems = inventory.problems(marks)
    assert not problems, "\n".join(problems)
    # the inventory saw the doors it is meant to see: the probe tried each kind
    kinds = {why.split(":")[0] for why in inventory.seen()}
    expected = {entry[4].split(":")[0] for entry in JUSTIFIED}
    assert kinds == expected, (kinds, sorted(map(str, inventory.doors.values())))
    tried = [
        d for d in inventory.doors.values() if d.role == "sandbox" and "EACCES" in str(d.probe)
    ]
    assert tried, "no kernel socket was tried while it was there"
    # and the files: the inbound folder, which every student may write into, was found so
    assert any(path.endswith("/inbound") for path in inventory.writable), inventory.writable


CANARY = """
import sys
from distributed import LocalCluster
cluster = LocalCluster(n_workers=1, processes=False, protocol="tcp://", dashboard_address=None)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()
cluster.close()
"""


def test_canary_a_plain_local_cluster_runs_the_probers_code(accounts):
    """Does the same probe, against a LocalCluster the instructor's account starts without
    security, run the prober's function as the instructor, and does the inventory say so?"""
    teacher, prober, marks = accounts
    cluster = teacher.popen(
        [sys.executable, "-c", CANARY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        address = cluster.stdout.readline().strip()
        assert address.startswith("tcp://127.0.0.1:"), address
        inventory = Inventory(teacher, prober, roots=())
        inventory.main = cluster.pid
        inventory.scan()
        inventory.end()
        problems = inventory.problems(marks)
    finally:
        cluster.stdin.close()
        cluster.wait(timeout=60)
        for marker in marks.iterdir():
            marker.unlink()
    door = inventory.doors[("tcp", address.removeprefix("tcp://"), cluster.pid)]
    assert door.probe["dask-tcp"].startswith("connected"), door.probe
    assert '"run": "{' in door.probe["dask-tcp"] and str(teacher.uid) in door.probe["dask-tcp"]
    assert any(f"ran as uid {teacher.uid}" in line for line in problems), problems
    assert any("speaks Dask to a stranger" in line for line in problems), problems
