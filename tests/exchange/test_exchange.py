"""Can a student subvert the exchange that `python -m instructor exchange init` makes?

Real Unix users made by the test (unix_users.py): an instructor account and two students. The
exchange is at a path every account can reach, as /srv/nbgrader/exchange is on a shared server.
Each attack is tried as a student, with the student's own uid and nothing else: on the layout
`exchange init` makes it must fail, and on the layout nbgrader makes (the root `chmod 777`,
as nbgrader's documentation and this course's docs used to say) it succeeds and `exchange check`
names it, which shows the attack is real. `watch`, `release` and `lab instructor`, run by the
instructor's account, refuse an unsafe exchange with the command that fixes it; that command,
run as printed, fixes it. No notebook runs; those marked slow run nbgrader's or the course's
commands.
"""

import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import copy_course
from harness import ROOT
from unix_users import needs_root, unix_user

from instructor.commands import exchange as command
from instructor.exchange import copier, layout
from instructor.exchange.check import check
from instructor.exchange.make import init

COURSE_ID = "initialization-course"
pytestmark = needs_root


@pytest.fixture(scope="module")
def people():
    """teacher (the instructor's account), stu1 and stu2 (students)."""
    with unix_user("tteach") as teacher, unix_user("tstua") as stu1, unix_user("tstub") as stu2:
        yield {"teacher": teacher, "stu1": stu1, "stu2": stu2}


@pytest.fixture
def public():
    """A folder of root's that every account can pass through, like /srv on a server."""
    folder = Path(tempfile.mkdtemp(prefix="exchange-test-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def course(people):
    """A copy of the course owned by the instructor's account, in a folder others can reach."""
    teacher = people["teacher"]
    root = copy_course(teacher.folder("course") / "course")
    teacher.give(root)
    return root


def made_by_nbgrader(root, teacher, course):
    """The exchange as nbgrader's documentation has it made: the administrator's `mkdir -p
    ... && chmod 777 ...`, then the instructor's `nbgrader release_assignment`."""
    root.mkdir()
    os.chmod(root, 0o777)
    released = teacher.run(
        [sys.executable, "-m", "nbgrader", "release_assignment", "initialization",
         f"--Exchange.root={root}"],
        cwd=course, env=teacher.env(NBGRADER_EXCHANGE=str(root)),
    )  # fmt: skip
    assert released.returncode == 0, released.stdout + released.stderr
    return layout.Layout(root, COURSE_ID)


def submit_as(student, exchange, name=None):
    """A submission folder in inbound made by the student, as nbgrader's submit leaves it
    (the folder writable by all, its files readable); its path."""
    folder = exchange.inbound / (name or f"{student.name}+initialization+2026-01-01 10:00:00 UTC")
    made = student.run(
        ["sh", "-c", 'mkdir "$1" && echo "{}" > "$1/Initialization.ipynb" && chmod 777 "$1"',
         "-", str(folder)],
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return folder


def attacks(student, exchange, classmate_submission):
    """Each attack a student can try on the exchange: {attack: whether it succeeded}."""
    course, outbound = exchange.course, exchange.outbound
    tries = {
        "rename the course's folder": ["mv", course, f"{course}.gone"],
        "rename outbound": ["mv", outbound, f"{outbound}.gone"],
        "add an assignment to outbound": ["mkdir", outbound / "initialization-v2"],
        "replace a released file": ["sh", "-c", f"echo x > {shlex.quote(str(next(outbound.rglob('*.ipynb'), outbound / 'x.ipynb')))}"],
        "rename a classmate's submission": ["mv", classmate_submission, f"{classmate_submission}.gone"],
        "delete a classmate's submission": ["rm", "-rf", classmate_submission],
        "list inbound": ["ls", exchange.inbound],
        "put a page in feedback": ["touch", exchange.feedback / "0123abcd.html"],
        "list feedback": ["ls", exchange.feedback],
    }  # fmt: skip
    done = {}
    for attack, argv in tries.items():
        result = student.run([str(a) for a in argv])
        done[attack] = result.returncode == 0
        if argv[0] == "rm":  # nbgrader's submit leaves the folder writable by all: its
            done[attack] = not os.path.lexists(argv[-1])  # files go, the folder must stay
        if done[attack] and argv[0] == "mv":  # put it back for the next attack
            subprocess.run(["mv", str(argv[2]), str(argv[1])], check=True)
    return done


def test_init_as_root_makes_the_layout_for_the_instructor(people, public, capsys):
    """Does the administrator's `exchange init --root ... --owner teacher`, as root, create
    every folder with its mode and owner, the parents included?"""
    teacher = people["teacher"]
    root = public / "srv" / "nbgrader" / "exchange"
    code = command.main(["init", "--root", str(root), "--owner", teacher.name])
    assert code == 0 and "is safe" in capsys.readouterr().out
    exchange = layout.Layout(root, COURSE_ID)
    got = {
        p: (stat.S_IMODE(p.stat().st_mode), p.stat().st_uid)
        for p in [root.parent, root, *[f for f, _ in exchange.folders()]]
    }
    assert got == {
        root.parent: (0o755, 0),
        root: (0o1777, 0),
        exchange.course: (0o755, teacher.uid),
        exchange.outbound: (0o755, teacher.uid),
        exchange.inbound: (0o3733, teacher.uid),
        exchange.feedback: (0o711, teacher.uid),
    }
    assert exchange.inbound.stat().st_gid == teacher.gid  # setgid: submissions get it too


@pytest.mark.slow  # nbgrader's and the course's commands
def test_no_attack_succeeds_on_the_initialised_exchange_and_each_one_does_on_nbgraders(
    people, public, course
):
    """On nbgrader's layout a student can rename the course's folder, rename or delete a
    classmate's submission (whose name they learnt): `exchange check` names both. After the
    fix `exchange check` prints (run as printed), can a student do nothing but submit?"""
    teacher, stu1, stu2 = people["teacher"], people["stu1"], people["stu2"]
    exchange = made_by_nbgrader(public / "exchange", teacher, course)
    genuine = submit_as(stu1, exchange)

    before = attacks(stu2, exchange, genuine)
    assert before["rename the course's folder"] and before["rename a classmate's submission"]
    verdict = check(exchange, teacher.uid)
    reasons = "\n".join(map(str, verdict.problems))
    assert f"{exchange.root}: every user may write in it and it has no sticky bit" in reasons
    assert f"{exchange.inbound}: every user may write in it and it has no sticky bit" in reasons
    assert f"{exchange.feedback}: does not exist yet" in reasons

    # the instructor's own command says what fixes it: root's, since root owns the root
    checked = teacher.python("-m", "instructor", "exchange", "check", cwd=course,
                             env=teacher.env(NBGRADER_EXCHANGE=str(exchange.root)))  # fmt: skip
    assert checked.returncode == 1
    (fix,) = [
        line[len("Fix: ") :] for line in checked.stdout.splitlines() if line.startswith("Fix: ")
    ]
    assert (
        f"sudo {sys.executable} -m instructor exchange init --root {exchange.root} --owner {teacher.name}"
        in fix
    )
    fixed = subprocess.run(fix.replace("sudo ", "", 1), shell=True, capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr

    genuine = submit_as(stu1, exchange, name=genuine.name + "+again")
    after = attacks(stu2, exchange, genuine)
    assert after == dict.fromkeys(after, False), after
    assert genuine.is_dir()
    # and every student still submits
    assert submit_as(stu2, exchange).is_dir()


@pytest.mark.slow  # nbgrader's and the course's commands
def test_a_course_folder_a_student_made_first_is_set_aside_by_root(people, public, course):
    """A student creates the course's folder (with an assignment of their own in outbound)
    before the instructor: the instructor's init refuses it, can't set it aside in root's
    sticky folder, and says so; root's `init --replace` sets it aside and makes the course's."""
    teacher, stu2 = people["teacher"], people["stu2"]
    root = public / "exchange"
    root.mkdir()
    os.chmod(root, 0o1777)  # the administrator made the root for every course
    squat = root / COURSE_ID
    made = stu2.run(["mkdir", "-p", squat / "outbound" / "initialization"])
    assert made.returncode == 0, made.stderr
    env = teacher.env(NBGRADER_EXCHANGE=str(root))

    refused = teacher.python("-m", "instructor", "exchange", "init", cwd=course, env=env)
    assert refused.returncode == 1
    assert f"{squat} belongs to {stu2.name}" in refused.stdout and "--replace" in refused.stdout
    needs_root = teacher.python(
        "-m", "instructor", "exchange", "init", "--replace", cwd=course, env=env
    )
    assert needs_root.returncode == 1
    assert (
        f"needs root. Run: sudo {sys.executable} -m instructor exchange init" in needs_root.stdout
    )
    watch = teacher.python("-m", "instructor", "watch", "--once", cwd=course, env=env)
    assert watch.returncode == 1 and "Not started." in watch.stdout
    assert f"belongs to {stu2.name}, not to the instructor {teacher.name}" in watch.stdout
    assert f"--owner {teacher.name} --replace" in watch.stdout

    fixed = subprocess.run(
        [sys.executable, "-m", "instructor", "exchange", "init", "--root", str(root),
         "--owner", teacher.name, "--replace"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert f"belonged to {stu2.name}: set aside as" in fixed.stdout
    assert (
        squat.stat().st_uid == teacher.uid and not (squat / "outbound" / "initialization").exists()
    )
    (aside,) = root.glob(f".{COURSE_ID}.set-aside-*")
    assert aside.stat().st_uid == stu2.uid
    assert stu2.run(["mv", squat, f"{squat}.gone"]).returncode != 0


@pytest.mark.slow  # nbgrader's and the course's commands
def test_watch_release_and_lab_refuse_an_unsafe_exchange_with_its_fix(people, public, course):
    """Run by the instructor's account on nbgrader's layout, does each command refuse to start
    (nothing regenerated, nothing served) and print the one command that fixes it?"""
    teacher = people["teacher"]
    exchange = made_by_nbgrader(public / "exchange", teacher, course)
    env = teacher.env(NBGRADER_EXCHANGE=str(exchange.root))
    release = course / "release" / "initialization" / "Initialization.ipynb"
    before = release.stat().st_mtime_ns
    commands = {
        "watch": ["watch", "--once"],
        "release": ["release"],
        "lab instructor": ["lab", "instructor"],
    }
    for name, args in commands.items():
        run = teacher.python("-m", "instructor", *args, cwd=course, env=env, timeout=300)
        assert run.returncode == 1, (name, run.stdout, run.stderr)
        assert f"The exchange at {exchange.root} (course {COURSE_ID}) is not safe" in run.stdout, (
            name
        )
        assert "exchange init --root" in run.stdout, name
        assert "Traceback" not in run.stdout + run.stderr, name
    assert release.stat().st_mtime_ns == before


@pytest.mark.slow  # nbgrader's and the course's commands
def test_the_instructors_own_exchange_folder_is_made_safe_by_the_commands(people, course):
    """The single-instructor default: the course's exchange/ folder (here an empty one, as
    earlier versions made it), where other accounts can reach it, is completed by the
    instructor's commands as init makes it (no sudo), and a course folder nobody else can
    reach keeps nbgrader's own layout."""
    teacher = people["teacher"]
    exchange = layout.Layout(course / "exchange", COURSE_ID)
    teacher.give(exchange.root.mkdir() or exchange.root)  # empty, as earlier versions made it
    made = teacher.python("-c", "from instructor import lab; print(lab.ensure_exchange('.'))",
                          cwd=course)  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    assert made.stdout.strip() == str(exchange.root)
    assert stat.S_IMODE(exchange.root.stat().st_mode) == 0o1777
    assert exchange.root.stat().st_uid == teacher.uid
    assert check(exchange, teacher.uid).safe
    # closed to others, nbgrader's 0777 layout is nobody else's business
    private = course.parent / "private"
    private.mkdir(mode=0o700)
    teacher.give(private)
    inside = made_by_nbgrader(private / "exchange", teacher, course)
    verdict = check(inside, teacher.uid)
    assert verdict.safe and verdict.private


def test_an_acl_entry_or_a_group_that_lets_a_student_list_inbound_is_reported(people, public):
    """Modes are not all: a POSIX ACL entry or a group with a student in it counts too."""
    teacher, stu1 = people["teacher"], people["stu1"]
    exchange = layout.Layout(public / "exchange", COURSE_ID)
    assert init(exchange, teacher.uid, say=lambda line: None).safe
    subprocess.run(["setfacl", "-m", f"u:{stu1.name}:rwx", str(exchange.feedback)], check=True)
    reasons = [str(p) for p in check(exchange, teacher.uid).problems]
    assert (
        f"{exchange.feedback}: user {stu1.name} may write in it: they can rename or replace what it holds"
        in reasons
    )
    assert (
        f"{exchange.feedback}: user {stu1.name} may list it, and so read every student's feedback"
        in reasons
    )
    assert stu1.run(["ls", exchange.feedback]).returncode == 0  # the check was right
    subprocess.run(["setfacl", "-b", str(exchange.feedback)], check=True)
    os.chown(exchange.outbound, teacher.uid, stu1.gid)
    os.chmod(exchange.outbound, 0o775)
    reasons = [str(p) for p in check(exchange, teacher.uid).problems]
    assert reasons == [
        f"{exchange.outbound}: group {stu1.name} ({stu1.name}) may write in it: they can rename or replace what it holds"
    ]


def test_what_a_classmate_writes_into_a_submission_is_not_collected(people, public, tmp_path):
    """nbgrader's submit leaves a submission's folder writable by all: a classmate who learnt
    its name can put a notebook of their own into it. Is what they wrote left out?"""
    teacher, stu1, stu2 = people["teacher"], people["stu1"], people["stu2"]
    exchange = layout.Layout(public / "exchange", COURSE_ID)
    init(exchange, teacher.uid, say=lambda line: None)
    genuine = submit_as(stu1, exchange)
    assert (
        stu1.run(["sh", "-c", f"date > {shlex.quote(str(genuine / 'timestamp.txt'))}"]).returncode
        == 0
    )
    planted = stu2.run(["sh", "-c", f"echo theirs > {shlex.quote(str(genuine / 'extra.ipynb'))}"])
    assert planted.returncode == 0, planted.stderr
    collected = copier.collect(genuine, tmp_path / "submitted", student=stu1.name)
    assert collected.files == ("Initialization.ipynb", "timestamp.txt")
    assert collected.skipped == (
        ("extra.ipynb", f"written by {stu2.name}, not by the submission's owner"),
    )
