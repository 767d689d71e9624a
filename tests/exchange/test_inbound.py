"""Reading the exchange's inbound folder (instructor/exchange/), where every student can write.

One test per hostile case a student can build in inbound by hand: links to the instructor's
files or to another student's submission, FIFOs, hard links, a 50 GB sparse file, thousands of
files, control characters in names, folders that keep changing, another user's folder. Each
case must be collected without the hostile part, or refused with a printable one-line reason,
while the submission stays untouched and an earlier copy survives a refused one. The last test
runs nbgrader's own `nbgrader collect` with SafeCollect configured. Quick: no kernel runs.
"""

import hashlib
import logging
import os
import pwd
import stat
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import nbgrader.api
import pytest
from conftest import course_env, own_course, run_in
from nbgrader.api import Gradebook
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory

from instructor.exchange import copier, forgeries
from instructor.exchange.collect import SafeCollect
from instructor.exchange.copier import FolderRefused, Incomplete, collect
from instructor.exchange.inbound import latest_per_student, printable, scan

STAMP = "2024-05-01 10:00:00.000000 UTC"  # as nbgrader's submit writes it
LATER = "2024-05-01 11:00:00.000000 UTC"
SECRET = "SECRET-SOLUTIONS-4242"
NAME = f"alice+ps1+{STAMP}+Xq3_-random12"  # nbgrader's default name: a random string at the end


def submission(inbound_dir, name=NAME, files=None, timestamp=True):
    """A submission folder in inbound: timestamp.txt (unless not), ps1.ipynb and `files`
    ({relative path: text}); returns its path."""
    folder = Path(inbound_dir) / name
    folder.mkdir(parents=True)
    for relative, text in {"ps1.ipynb": '{"cells": []}', **(files or {})}.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    if timestamp:
        (folder / "timestamp.txt").write_text(STAMP)
    return folder


def instructor_file(tmp_path):
    """A file of the instructor's, outside inbound, that no student may read."""
    path = tmp_path / "instructor" / "solutions.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SECRET)
    return path


def tree_state(folder):
    """{relative path: what it is} of folder and everything under it: type and mode, size,
    mtime, owner, and the content hash of (small) files or a link's target. No link is
    followed, no FIFO opened."""
    folder = Path(folder)
    state = {}
    for path in [folder, *sorted(_everything(folder))]:
        st = os.lstat(path)
        what = (stat.filemode(st.st_mode), st.st_size, st.st_mtime_ns, st.st_uid)
        if stat.S_ISLNK(st.st_mode):
            what += (os.readlink(path),)
        elif stat.S_ISREG(st.st_mode) and st.st_size < 1 << 20:
            what += (hashlib.sha256(path.read_bytes()).hexdigest(),)
        state[str(path.relative_to(folder))] = what
    return state


def _everything(folder):
    for dirpath, dirnames, filenames in os.walk(folder):  # os.walk follows no link
        for name in dirnames + filenames:
            yield Path(dirpath, name)


def copied_text(dest):
    """All the bytes of every file under dest, for looking for the secret."""
    return b"".join(p.read_bytes() for p in sorted(_everything(dest)) if p.is_file())


def leftovers(dest):
    """Hidden folders collect() left beside dest (its temporary copies)."""
    return sorted(p.name for p in Path(dest).parent.iterdir() if p.name.startswith("."))


def slow_copies(monkeypatch, seconds=0.0, then=None):
    """Make every copying pass of collect() last `seconds` more (a slow disk), and call
    then(n) after the n-th copy; returns the list of copying passes started."""
    real = copier._copy_tree
    copies = []

    def copy_tree(top, into, limits, label):
        copies.append(into)  # counted first: a pass may end early, on a file seen changing
        result = real(top, into, limits, label)
        if then is not None:
            then(len(copies))
        time.sleep(seconds)
        return result

    monkeypatch.setattr(copier, "_copy_tree", copy_tree)
    return copies


def all_printable(*texts):
    return all(ch.isprintable() for text in texts for ch in text)


# --- links ---------------------------------------------------------------------------------------


def test_link_to_an_instructor_file_is_not_read(tmp_path):
    """Does a link to an instructor's file stay out of submitted/, listed with its reason?"""
    secret = instructor_file(tmp_path)
    record = submission(tmp_path / "inbound")
    (record / "answers.py").symlink_to(secret)
    dest = tmp_path / "submitted" / "alice" / "ps1"

    collected = collect(record, dest)

    assert collected.files == ("ps1.ipynb", "timestamp.txt")
    assert collected.skipped == (("answers.py", "a symbolic link (not followed)"),)
    assert not os.path.lexists(dest / "answers.py")
    assert SECRET.encode() not in copied_text(dest)


def test_link_to_another_students_submission_is_not_followed(tmp_path):
    """Does a link to a folder of inbound (bob's submission) leave bob's files behind?"""
    bob = submission(tmp_path / "inbound", f"bob+ps1+{STAMP}", files={"ps1.ipynb": "BOB'S WORK"})
    record = submission(tmp_path / "inbound")
    (record / "borrowed").symlink_to(bob, target_is_directory=True)
    dest = tmp_path / "submitted" / "alice" / "ps1"

    collected = collect(record, dest)

    assert ("borrowed", "a symbolic link (not followed)") in collected.skipped
    assert not os.path.lexists(dest / "borrowed")
    assert b"BOB'S WORK" not in copied_text(dest)


def test_submission_folder_that_is_a_link_is_refused(tmp_path):
    """Is a submission that is itself a link (to bob's folder) refused, and listed by scan?"""
    bob = submission(tmp_path / "inbound", f"bob+ps1+{STAMP}")
    fake = tmp_path / "inbound" / NAME
    fake.symlink_to(bob, target_is_directory=True)
    dest = tmp_path / "submitted" / "alice" / "ps1"

    with pytest.raises(FolderRefused, match="symbolic link") as refusal:
        collect(fake, dest)

    assert all_printable(str(refusal.value))
    assert not dest.exists()
    records, invalid = scan(tmp_path / "inbound")
    assert [r.student for r in records] == ["bob"]
    assert invalid == [(NAME, "a symbolic link (not followed)")]


def test_folder_swapped_for_a_link_during_the_walk_is_not_followed(tmp_path, monkeypatch):
    """When a folder is replaced by a link between its lstat and its opening, is the link
    still not followed (the folder is opened with O_NOFOLLOW; the copy starts again)?"""
    secret = instructor_file(tmp_path)
    record = submission(tmp_path / "inbound", files={"sub/work.py": "mine"})
    real_stat = os.stat
    swapped = []

    def stat_then_swap(path, *args, **kwargs):
        result = real_stat(path, *args, **kwargs)
        if path == "sub" and kwargs.get("dir_fd") is not None and not swapped:
            swapped.append(path)  # the student's move, right after collect looked
            os.rename(record / "sub", record / "moved")
            os.symlink(secret.parent, record / "sub")
        return result

    monkeypatch.setattr(os, "stat", stat_then_swap)
    collected = collect(record, tmp_path / "dest", settle_seconds=0)

    assert swapped
    assert ("sub", "a symbolic link (not followed)") in collected.skipped
    assert "moved/work.py" in collected.files
    assert SECRET.encode() not in copied_text(tmp_path / "dest")


# --- files that cannot be copied ----------------------------------------------------------------


def test_gigantic_sparse_file_is_skipped_without_being_read(tmp_path, monkeypatch):
    """Is a 50 GB (sparse) file skipped from its lstat size, without a byte of it read?"""
    record = submission(tmp_path / "inbound")
    with open(record / "data.bin", "wb"):
        pass
    os.truncate(record / "data.bin", 50 * 10**9)
    real_read, read = os.read, []

    def counted_read(fd, n):
        data = real_read(fd, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counted_read)
    collected = collect(record, tmp_path / "dest")

    assert sum(read) < 1000  # ps1.ipynb and timestamp.txt only
    assert collected.files == ("ps1.ipynb", "timestamp.txt")
    (path, reason) = collected.skipped[0]
    assert path == "data.bin" and "50000000000 bytes, more than the 100000 KB limit" in reason


def test_fifo_is_skipped_and_does_not_block(tmp_path):
    """Is a FIFO skipped without being opened (opening one waits for a writer for ever)?"""
    record = submission(tmp_path / "inbound")
    os.mkfifo(record / "pipe")
    outcome = []
    worker = threading.Thread(
        target=lambda: outcome.append(collect(record, tmp_path / "dest")), daemon=True
    )
    worker.start()
    worker.join(timeout=120)  # a bound for a busy machine: the collect takes milliseconds

    assert not worker.is_alive(), "collect blocked on the FIFO"
    assert outcome[0].skipped == (("pipe", "a FIFO (never opened: opening one blocks)"),)
    assert not os.path.lexists(tmp_path / "dest" / "pipe")


def test_hard_link_is_skipped(tmp_path):
    """Is a hard link (another name of a file that may be the instructor's) left out?"""
    secret = instructor_file(tmp_path)
    record = submission(tmp_path / "inbound")
    os.link(secret, record / "notes.py")

    collected = collect(record, tmp_path / "dest")

    assert collected.skipped == (
        ("notes.py", "a hard link (2 names: it may be another user's file)"),
    )
    assert SECRET.encode() not in copied_text(tmp_path / "dest")


# Names a student can give a file: each is skipped, and shown escaped in the reason.
BAD_NAMES = [
    # (name as bytes, shown as, reason)
    (b"clear\x1b[2J.py", "clear\\x1b[2J.py", "its name has control characters"),
    (b"two\nlines.py", "two\\nlines.py", "its name has control characters"),
    (b"bell\x07.py", "bell\\x07.py", "its name has control characters"),
    ("line\u2028break.py".encode(), "line\\u2028break.py", "its name has control characters"),
    (b"latin1-\xe9t\xe9.py", "latin1-\\xe9t\\xe9.py", "its name is not valid UTF-8"),
]


@pytest.mark.parametrize("name, shown, reason", BAD_NAMES, ids=[s for _, s, _ in BAD_NAMES])
def test_file_name_with_control_characters_is_skipped(tmp_path, name, shown, reason):
    """Is a file whose name has control characters (or is not UTF-8) skipped, with a reason
    that prints on one line?"""
    record = submission(tmp_path / "inbound")
    with open(os.path.join(os.fsencode(record), name), "w") as f:
        f.write("x")

    collected = collect(record, tmp_path / "dest")

    assert collected.skipped == ((shown, reason),)
    assert all_printable(shown, reason)
    assert sorted(os.listdir(tmp_path / "dest")) == ["ps1.ipynb", "timestamp.txt"]


def test_submission_name_with_control_characters_is_listed_by_scan(tmp_path):
    """Does scan list a submission named with control characters, printably, and not as a
    record?"""
    name = f"mallory\x1b]0;owned\x07+ps1+{STAMP}"
    submission(tmp_path / "inbound", name)

    records, invalid = scan(tmp_path / "inbound", ["ps1"])

    assert records == []
    assert invalid == [(printable(name), "its name has control characters")]
    assert all_printable(*invalid[0])


PRINTABLE = [
    ("a\nb", "a\\nb"),
    ("\x1b[2J", "\\x1b[2J"),
    (os.fsdecode(b"caf\xe9"), "caf\\xe9"),
    ("back\\slash", "back\\\\slash"),
    ("\u202eevil", "\\u202eevil"),  # a right-to-left override
    ("déjà vu ok", "déjà vu ok"),
]


@pytest.mark.parametrize("text, shown", PRINTABLE)
def test_printable_escapes_what_a_terminal_would_act_on(text, shown):
    """Does printable escape control characters and undecodable bytes, like repr?"""
    assert printable(text) == shown


def test_ignore_and_include_patterns_leave_files_out_silently(tmp_path):
    """Are nbgrader's ignore and include patterns applied by name, with no reason listed?"""
    record = submission(
        tmp_path / "inbound",
        files={"helper.pyc": "", "__pycache__/x.pyc": "", "notes.txt": "", "sub/a.ipynb": "{}"},
    )
    collected = collect(
        record,
        tmp_path / "dest",
        ignore=("__pycache__", "*.pyc"),
        include=("*.ipynb", "timestamp.txt"),
    )
    assert collected.files == ("ps1.ipynb", "sub/a.ipynb", "timestamp.txt")
    assert collected.skipped == ()


# --- limits --------------------------------------------------------------------------------------


def test_thousands_of_files_are_refused_quickly(tmp_path, monkeypatch):
    """Is a submission of 5000 files refused, after counting no more than max_files + 1
    entries, none of them opened?"""
    record = submission(tmp_path / "inbound")
    for i in range(5000):
        (record / f"f{i:04}.txt").touch()
    real_scandir, real_open, listed, opened = os.scandir, os.open, [], []

    class CountedListing:
        """os.scandir, counting the entries the walk takes from it."""

        def __init__(self, target):
            self.listing = real_scandir(target)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.listing.close()

        def __iter__(self):
            for entry in self.listing:
                listed.append(entry.name)
                yield entry

    def counted_open(path, flags, *args, **kwargs):
        opened.append(os.fsdecode(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", CountedListing)
    monkeypatch.setattr(os, "open", counted_open)
    with pytest.raises(FolderRefused, match="it has more than 1000 files and folders"):
        collect(record, tmp_path / "dest")
    monkeypatch.undo()
    assert len(listed) == 1001
    assert not any(name.startswith("f") and name.endswith(".txt") for name in opened), opened
    assert not (tmp_path / "dest").exists()


def test_twenty_files_are_collected(tmp_path):
    """Are 20 files in folders collected whole, with their sizes?"""
    files = {f"part{i % 4}/file{i:02}.py": f"print({i})\n" for i in range(18)}
    record = submission(tmp_path / "inbound", files=files)

    collected = collect(record, tmp_path / "dest")

    assert len(collected.files) == 20 and collected.skipped == ()
    assert collected.size == sum(len(t) for t in files.values()) + len('{"cells": []}') + len(STAMP)
    for relative, text in files.items():
        assert (tmp_path / "dest" / relative).read_text() == text
        assert stat.S_IMODE((tmp_path / "dest" / relative).stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "dest" / "part0").stat().st_mode) == 0o755


LIMITS = [
    # (scenario, files, collect's arguments, reason)
    ("too deep", {"a/b/c/d/e.py": ""}, {"max_depth": 3}, "nested more than 3 deep (a/b/c/d)"),
    ("too big", {"big.bin": "x" * 3000}, {"max_dir_size_kb": 2}, "total more than the 2 KB limit"),
]


@pytest.mark.parametrize("scenario, files, limits, reason", LIMITS, ids=[c[0] for c in LIMITS])
def test_limits_refuse_a_submission(tmp_path, scenario, files, limits, reason):
    """Is a submission nested too deep or too big in all refused, with the limit named?"""
    record = submission(tmp_path / "inbound", files=files)
    with pytest.raises(FolderRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        collect(record, tmp_path / "dest", **limits)
    assert not (tmp_path / "dest").exists() and leftovers(tmp_path / "dest") == []


# --- changes, owners, unfinished submissions -----------------------------------------------------


def test_folder_that_keeps_changing_is_refused(tmp_path, monkeypatch):
    """Is a folder that a process writes to every 50 ms refused after `attempts` copies (each
    made slow enough to see a write), rather than collected half-written?"""
    record = submission(tmp_path / "inbound")
    copies = slow_copies(monkeypatch, seconds=0.2)
    stop = threading.Event()

    def write_every_50_ms():
        n = 0
        while not stop.is_set():
            (record / "log.txt").write_text(f"line {n}\n" * n)
            n += 1
            stop.wait(0.05)

    writer = threading.Thread(target=write_every_50_ms, daemon=True)
    writer.start()
    try:
        with pytest.raises(FolderRefused, match="kept changing while it was collected") as refusal:
            collect(record, tmp_path / "dest", settle_seconds=0.05, attempts=3)
    finally:
        stop.set()
        writer.join()

    assert "(3 attempts, 0.05 s apart)" in str(refusal.value)
    assert len(copies) == 3
    assert not (tmp_path / "dest").exists() and leftovers(tmp_path / "dest") == []


def test_folder_that_changes_once_is_collected_when_stable(tmp_path, monkeypatch):
    """Is a folder changed during the first copy, then left alone, collected as it ends up?"""
    record = submission(tmp_path / "inbound", files={"log.txt": "first\n"})

    def change_once(n):
        if n == 1:
            with open(record / "log.txt", "a") as f:
                f.write("second\n")

    copies = slow_copies(monkeypatch, then=change_once)
    collected = collect(record, tmp_path / "dest", settle_seconds=0.01)

    assert len(copies) == 2
    assert (tmp_path / "dest" / "log.txt").read_text() == "first\nsecond\n"
    assert "log.txt" in collected.files and leftovers(tmp_path / "dest") == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_folder_owned_by_another_user_is_refused(tmp_path):
    """Is alice's submission refused when another user owns it (nbgrader only warns)?"""
    record = submission(tmp_path / "inbound")
    os.chown(record, 65534, 65534)
    owner = pwd.getpwuid(65534).pw_name

    with pytest.raises(FolderRefused, match=f"it is owned by {owner}, not by alice$"):
        collect(record, tmp_path / "dest", student="alice")
    assert not (tmp_path / "dest").exists()


def test_submission_without_timestamp_is_incomplete(tmp_path):
    """Is a submission without timestamp.txt (still being written) Incomplete, not copied?"""
    record = submission(tmp_path / "inbound", timestamp=False)

    with pytest.raises(Incomplete, match="no timestamp.txt yet"):
        collect(record, tmp_path / "dest")
    assert issubclass(Incomplete, FolderRefused)
    assert not (tmp_path / "dest").exists()


def test_submission_is_unchanged_by_collect(tmp_path):
    """Is every entry of the submission, odd ones included, exactly as before collecting?"""
    secret = instructor_file(tmp_path)
    record = submission(tmp_path / "inbound", files={"sub/deeper/a.py": "a", "b.txt": "b"})
    (record / "link").symlink_to(secret)
    os.mkfifo(record / "pipe")
    os.link(secret, record / "hard.py")
    (record / "bad\x1bname").write_text("c")
    before = tree_state(record), tree_state(secret.parent)

    collect(record, tmp_path / "dest")

    assert (tree_state(record), tree_state(secret.parent)) == before


# A later collect into a folder that holds a copy, and how it fails.
FAILURES = [
    ("the later submission is a link", FolderRefused),
    ("the later submission is not finished", Incomplete),
    ("the later submission has too many files", FolderRefused),
    ("the disk fills up during the copy", OSError),
]


def spoil(scenario, later, monkeypatch):
    """Make the later submission (or its copy) fail as the scenario says; the folder to
    collect."""
    if scenario == "the later submission is a link":
        link = later.with_name(later.name + "-link")
        link.symlink_to(later, target_is_directory=True)
        return link
    if scenario == "the later submission is not finished":
        (later / "timestamp.txt").unlink()
    elif scenario == "the later submission has too many files":
        for i in range(1001):
            (later / f"{i}.txt").touch()
    else:
        real = copier._copy_tree

        def copy_then_fail(*args):
            real(*args)  # every file written, then no space left for the last step
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(copier, "_copy_tree", copy_then_fail)
    return later


@pytest.mark.parametrize("scenario, error", FAILURES, ids=[f[0] for f in FAILURES])
def test_earlier_copy_is_kept_when_a_later_collect_fails(tmp_path, monkeypatch, scenario, error):
    """When a later collect is refused or fails, is the earlier copy left exactly as it was,
    and no temporary folder left behind?"""
    dest = tmp_path / "submitted" / "alice" / "ps1"
    collect(submission(tmp_path / "inbound", files={"answer.py": "first"}), dest)
    kept = tree_state(dest)
    later = submission(
        tmp_path / "inbound", f"alice+ps1+{LATER}+abc", files={"answer.py": "second"}
    )

    with pytest.raises(error):
        collect(spoil(scenario, later, monkeypatch), dest)

    assert tree_state(dest) == kept
    assert leftovers(dest) == []


def test_collecting_again_replaces_the_copy(tmp_path):
    """Does a later submission replace the earlier copy whole (no file of it left over)?"""
    dest = tmp_path / "submitted" / "alice" / "ps1"
    collect(submission(tmp_path / "inbound", files={"old.py": "1"}), dest)
    later = submission(tmp_path / "inbound", f"alice+ps1+{LATER}", files={"new.py": "2"})

    collect(later, dest)

    assert sorted(os.listdir(dest)) == ["new.py", "ps1.ipynb", "timestamp.txt"]
    assert leftovers(dest) == []


# --- scan ----------------------------------------------------------------------------------------

# Entries of an inbound folder, what scan says of them (None: a record; "-": left out silently).
INBOUND = [
    (f"alice+ps1+{STAMP}", "folder", None),
    (f"alice+ps1+{LATER}+Xq3_-random12", "folder", None),  # later, nbgrader's random suffix
    (f"bob+ps1+{STAMP}+AAAAAAAAAAAA", "folder", None),
    (f"carol+ps2+{STAMP}", "folder", "-"),  # another assignment
    ("alice+ps1+not-a-time", "folder", "its timestamp 'not-a-time' is not a time"),
    (f"dave+ps1+{STAMP}", "file", "not a folder"),
    (f"eve+ps1+{STAMP}", "link", "a symbolic link (not followed)"),
    (f"+ps1+{STAMP}", "folder", "invalid student id ''"),
    (f"..+ps1+{STAMP}", "folder", "invalid student id '..'"),
    (f"*+ps1+{STAMP}", "folder", "invalid student id '*'"),
    ("README.txt", "file", "not a submission (student+assignment+timestamp)"),
    (f"alice\n+ps1+{LATER}+zzz", "folder", "its name has control characters"),
]


def test_scan_lists_records_and_latest_per_student_takes_the_latest(tmp_path):
    """Does scan find the valid submissions of ps1 (list the others with their reason) and
    latest_per_student choose each student's latest one, random suffix or not?"""
    folder = tmp_path / "inbound"
    folder.mkdir()
    for name, kind, _ in INBOUND:
        if kind == "folder":
            (folder / name).mkdir()
        elif kind == "file":
            (folder / name).write_text("x")
        else:
            (folder / name).symlink_to(folder / f"bob+ps1+{STAMP}+AAAAAAAAAAAA")

    records, invalid = scan(folder, ["ps1"])

    assert sorted(r.name for r in records) == sorted(n for n, _, why in INBOUND if why is None)
    assert invalid == sorted((printable(n), why) for n, _, why in INBOUND if why not in (None, "-"))
    latest = latest_per_student(records)
    assert sorted(latest) == ["alice", "bob"]
    assert latest["alice"].name == f"alice+ps1+{LATER}+Xq3_-random12"
    assert latest["alice"].timestamp == datetime(2024, 5, 1, 11, tzinfo=UTC)
    assert latest["alice"].path == folder / latest["alice"].name
    assert latest["bob"].assignment == "ps1"
    # without an assignment filter, carol's ps2 is a record too
    assert "carol" in {r.student for r in scan(folder)[0]}


# --- nbgrader's own collect ----------------------------------------------------------------------


@pytest.fixture
def on_path(monkeypatch):
    """This interpreter's scripts first on PATH: a new gradebook runs nbgrader's `alembic`."""
    monkeypatch.setenv("PATH", course_env()["PATH"])


@pytest.fixture
def quick_gradebook(monkeypatch):
    """A new gradebook without asking the `alembic` command for the version to stamp it with
    (seconds of start-up; collect never migrates the database)."""
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "not-stamped")


def safe_collect(tmp_path, **traits):
    """SafeCollect.start() in-process, as `nbgrader collect ps1` runs it, for course
    safe-course with its exchange and course folders in tmp_path."""
    coursedir = CourseDirectory(
        course_id="safe-course",
        root=str(tmp_path / "course"),
        assignment_id="ps1",
        db_url=f"sqlite:///{tmp_path / 'gradebook.db'}",
    )
    log = logging.getLogger("test_inbound.safe_collect")
    collector = SafeCollect(
        coursedir=coursedir,
        authenticator=Authenticator(),
        root=str(tmp_path / "exchange"),
        log=log,
        **traits,
    )
    collector.start()
    return tmp_path / "course" / "submitted"


def test_safe_collect_refuses_some_and_collects_the_others(tmp_path, caplog, quick_gradebook):
    """Does SafeCollect refuse a folder owned by another user than it names (recorded for the
    class report with its owner) and a name it cannot parse (logged as errors) while
    collecting the others, and keep an earlier copy when an --update is refused (nbgrader
    removes it before copying)?"""
    me = pwd.getpwuid(os.geteuid()).pw_name
    inbox = tmp_path / "exchange" / "safe-course" / "inbound"
    submission(inbox, f"{me}+ps1+{STAMP}+AAAAAAAAAAAA", files={"ps1.ipynb": "MINE"})
    submission(inbox, f"alice+ps1+{STAMP}+BBBBBBBBBBBB")  # owned by me, not by alice
    submission(inbox, "mallory+ps1+not-a-time")
    caplog.set_level(logging.INFO, logger="test_inbound.safe_collect")

    submitted = safe_collect(tmp_path, check_owner=True)

    assert sorted(os.listdir(submitted)) == [me]
    assert (submitted / me / "ps1" / "ps1.ipynb").read_text() == "MINE"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "Not collected: mallory+ps1+not-a-time: its timestamp 'not-a-time' is not a time",
        f"Not collected: alice+ps1+{STAMP}+BBBBBBBBBBBB: it is owned by {me}, not by alice: "
        "made in alice's name by another login, refused; alice's own submissions are handled "
        "as if it were not there",
    ]
    (forged,) = forgeries.read(tmp_path / "course" / "reports" / "ps1")
    assert (forged.student, forged.owner, forged.by) == ("alice", me, "collect")

    kept = tree_state(submitted / me / "ps1")
    later = submission(inbox, f"{me}+ps1+{LATER}+CCCCCCCCCCCC")
    for i in range(1001):
        (later / f"{i}.txt").touch()
    caplog.clear()
    safe_collect(tmp_path, check_owner=True, update=True)

    assert tree_state(submitted / me / "ps1") == kept
    assert f"Updating submission: {me} ps1" in caplog.messages
    assert "it has more than 1000 files and folders" in caplog.text


@pytest.mark.slow  # nbgrader's start-up takes seconds
def test_nbgrader_collect_with_safe_collect(tmp_path, on_path):
    """Does `nbgrader collect` with SafeCollect configured collect the normal submission,
    copy no linked secret anywhere in submitted/, survive a submission name nbgrader's own
    collect cannot parse, and end with status 0?"""
    course = own_course(tmp_path / "course", "safe-course")
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(
            "\n# nbgrader collect reads inbound without following links (instructor/exchange/)\n"
            'c.ExchangeFactory.collect = "instructor.exchange.collect.SafeCollect"\n'
        )
    secret = instructor_file(tmp_path)
    inbox = course / "exchange" / "safe-course" / "inbound"
    submission(inbox, f"alice+ps1+{STAMP}+AAAAAAAAAAAA", files={"ps1.ipynb": "ALICE"})
    bob = submission(inbox, f"bob+ps1+{STAMP}+BBBBBBBBBBBB", files={"ps1.ipynb": "BOB"})
    (bob / "answers.py").symlink_to(secret)
    submission(inbox, "mallory+ps1+not-a-time")  # stock nbgrader collect stops on this name
    # the assignment in the gradebook, as `nbgrader db assignment add ps1` puts it (in-process:
    # a second nbgrader command would cost seconds)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "safe-course") as gb:
        gb.add_assignment("ps1")

    # the script itself (not `python -m`): the course is not on its path, the config adds it
    nbgrader = Path(sys.executable).parent / "nbgrader"
    result = run_in(course, nbgrader, "collect", "ps1", "--ExchangeCollect.check_owner=False")
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    submitted = course / "submitted"
    assert (submitted / "alice" / "ps1" / "ps1.ipynb").read_text() == "ALICE"
    assert (submitted / "bob" / "ps1" / "ps1.ipynb").read_text() == "BOB"
    assert not os.path.lexists(submitted / "bob" / "ps1" / "answers.py")
    assert SECRET.encode() not in copied_text(submitted)
    assert not any(p.is_symlink() for p in _everything(submitted))
    assert "answers.py not collected: a symbolic link (not followed)" in output
    assert "mallory+ps1+not-a-time: its timestamp 'not-a-time' is not a time" in output
    assert not (submitted / "mallory").exists()
