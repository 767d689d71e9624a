"""hub/jupyterhub_config.py read as JupyterHub reads it, with no hub started: what each role and
the grading service get, and the unsafe setups it refuses, each with the fix.

The people are real Unix users and groups (tests/unix_users.py), so these tests need root.
"""

import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config.loader import PyFileConfigLoader
from unix_users import needs_root, unix_group, unix_user

from hub import trial
from instructor import lab

pytestmark = needs_root


@pytest.fixture(scope="module")
def people():
    """Two groups, an instructor and a student in them, and a student's home kept open."""
    with (
        unix_group("cfgins") as instructors,
        unix_group("cfgstu") as students,
        unix_user("cfgteach", groups=[instructors]) as teacher,
        unix_user("cfgstu", groups=[students]) as student,
    ):
        teacher.make_home_private()
        student.make_home_private()
        yield SimpleNamespace(
            instructors=instructors, students=students, teacher=teacher, student=student
        )


@pytest.fixture
def setup(people, tmp_path, monkeypatch):
    """The settings of a hub whose course and exchange are as the configuration wants them."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    people.teacher.give(course).chmod(0o700)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    settings = {
        "COURSE_HUB_COURSE_ROOT": str(course),
        "COURSE_HUB_GRADER": people.teacher.name,
        "COURSE_HUB_INSTRUCTORS": people.instructors,
        "COURSE_HUB_STUDENTS": people.students,
        "NBGRADER_EXCHANGE": str(exchange),
        "COURSE_HUB_STATE": str(tmp_path / "state"),
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return SimpleNamespace(
        people=people, course=course, exchange=exchange, state=tmp_path / "state"
    )


def load():
    """The configuration, as JupyterHub loads it."""
    return PyFileConfigLoader(trial.CONFIG.name, path=str(trial.CONFIG.parent)).load_config()


def refusal(monkeypatch=None, **settings):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as refused:
        load()
    return str(refused.value)


def spawned(config, user):
    """What the configuration's pre-spawn hook gives a user's server."""
    spawner = SimpleNamespace(
        user=SimpleNamespace(name=user.name),
        environment=dict(config.Spawner.environment),
        notebook_dir="",
        default_url="",
        args=[],
    )
    config.Spawner.pre_spawn_hook(spawner)
    return spawner


def test_does_the_service_run_the_course_as_its_grader(setup):
    """Is grade on submit a managed service that runs `instructor watch` on the course, as the
    grader, with the exchange; do the servers get the exchange too?"""
    config = load()
    (service,) = config.JupyterHub.services
    assert service["name"] == "grade-on-submit"
    assert service["user"] == setup.people.teacher.name
    assert service["command"][1:] == ["-m", "instructor", "watch", "--course", str(setup.course)]
    assert service["environment"]["NBGRADER_EXCHANGE"] == str(setup.exchange)
    assert config.Spawner.environment["NBGRADER_EXCHANGE"] == str(setup.exchange)
    assert config.JupyterHub.authenticator_class == "pam"
    assert config.LocalAuthenticator.allowed_groups == {
        setup.people.instructors,
        setup.people.students,
    }


def test_is_root_refused_as_the_grader(setup, monkeypatch):
    assert "must not run as root" in refusal(monkeypatch, COURSE_HUB_GRADER="root")


def test_is_a_course_open_to_every_user_refused(setup, monkeypatch):
    """Students could read the solutions and the gradebook of a course every user can read."""
    setup.course.chmod(0o755)
    message = refusal(monkeypatch)
    assert "open to every user" in message and f"chmod 700 {setup.course}" in message


def test_is_a_course_of_another_account_refused(setup, monkeypatch):
    subprocess.run(["chown", "root:root", str(setup.course)], check=True)
    assert f"chown -R {setup.people.teacher.name}" in refusal(monkeypatch)


def test_is_a_missing_exchange_refused_with_the_command_that_makes_it(setup, monkeypatch):
    """The command names the grader as the owner: made by root without it, the course's
    folders would be root's, and the instructor could not release into them."""
    setup.exchange.rmdir()
    message = refusal(monkeypatch)
    command = f"python -m instructor exchange init --root {setup.exchange} --owner "
    assert command + setup.people.teacher.name in message


def test_is_a_missing_group_refused(setup, monkeypatch):
    message = refusal(monkeypatch, COURSE_HUB_STUDENTS="no-such-group-here")
    assert "groupadd no-such-group-here" in message


def page_config(state, role):
    path = Path(state) / "jupyter" / role / "labconfig" / "page_config.json"
    return json.loads(path.read_text())["disabledExtensions"]


def extensions(args):
    """{server extension: enabled} from a server's --ServerApp.jpserver_extensions options."""
    found = {}
    for arg in args:
        if arg.startswith("--ServerApp.jpserver_extensions="):
            name, _, value = arg.split("=", 1)[1].partition("=")
            found[name] = value == "True"
    return found


def test_does_a_student_get_what_lab_student_exchange_gives(setup):
    """Does a student's server start in their home, on JupyterLab, with exactly the nbgrader
    extensions and plugins of `python -m instructor lab student --exchange`, and nbgrader
    settings that name the exchange and the course?"""
    config = load()
    student = setup.people.student
    server = spawned(config, student)
    assert server.notebook_dir == str(student.home)
    assert server.default_url == "/lab"
    role_dir = Path(server.environment["JUPYTER_CONFIG_PATH"])
    assert role_dir == setup.state / "jupyter" / "students"
    assert extensions(server.args) == {n: m["exchange"] for n, m in lab.SERVER_EXTENSIONS.items()}
    assert "PYTHONPATH" not in server.environment
    assert page_config(setup.state, "students") == {
        plugin: not modes["exchange"] for plugin, modes in lab.LAB_PLUGINS.items()
    }
    settings = (role_dir / "nbgrader_config.py").read_text()
    assert 'c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]' in settings
    assert "c.CourseDirectory.course_id = 'initialization-course'" in settings
    assert oct(os.stat(role_dir / "nbgrader_config.py").st_mode & 0o777) == "0o644"


def test_does_an_instructor_get_the_course_and_the_formgrader(setup):
    """Does an instructor's server start at the course root and land on the Formgrader, with
    the tools of `python -m instructor lab instructor` but the Formgrader's JupyterLab panel
    (a frame, which JupyterHub forbids), and nbgrader settings that load the course's?"""
    config = load()
    server = spawned(config, setup.people.teacher)
    assert server.notebook_dir == str(setup.course)
    assert server.default_url == "/formgrader"
    assert extensions(server.args) == {n: m["instructor"] for n, m in lab.SERVER_EXTENSIONS.items()}
    # the course's server extension (the Formgrader's page policy), from the course's environment
    assert extensions(server.args)["instructor.formgrader"] is True
    assert "PYTHONPATH" not in server.environment
    expected = {plugin: not modes["instructor"] for plugin, modes in lab.LAB_PLUGINS.items()}
    expected["@jupyter/nbgrader:formgrader"] = True  # disabled on the hub
    assert page_config(setup.state, "instructors") == expected
    settings = (setup.state / "jupyter" / "instructors" / "nbgrader_config.py").read_text()
    assert f"load_subconfig({str(setup.course / 'nbgrader_config.py')!r})" in settings


def test_is_a_server_refused_while_its_home_is_open_to_others(setup):
    """A student whose home others can read would share their notebooks and feedback: is
    their server refused, with the fix?"""
    config = load()
    student = setup.people.student
    student.home.chmod(0o755)
    try:
        with pytest.raises(RuntimeError, match=f"chmod 700 {student.home}"):
            spawned(config, student)
    finally:
        student.make_home_private()


def test_is_someone_outside_both_groups_refused(setup):
    config = load()
    with unix_user("cfgother") as other:
        other.make_home_private()
        with pytest.raises(RuntimeError, match="in neither"):
            spawned(config, other)


def test_does_a_second_instructor_need_the_course_shared_with_their_group(setup):
    """A second instructor's server is refused while the course is the grader's alone, and
    starts at the course root once the course is shared with the instructors' group (2770,
    still closed to everyone else)."""
    config = load()
    with unix_user("cfgtwo", groups=[setup.people.instructors]) as colleague:
        colleague.make_home_private()
        with pytest.raises(RuntimeError, match="not shared with their group"):
            spawned(config, colleague)
        subprocess.run(["chgrp", setup.people.instructors, str(setup.course)], check=True)
        setup.course.chmod(0o2770)
        assert spawned(load(), colleague).notebook_dir == str(setup.course)


def test_does_an_instructors_server_start_in_the_course_with_its_code(setup):
    """An instructor's server loads the course's Formgrader extension from the course's
    environment, with nothing added to its Python path; a student's does not load it. Each
    server process starts in its own folder (CourseSpawner), not in the home."""
    config = load()
    teacher = spawned(config, setup.people.teacher)
    assert "PYTHONPATH" not in teacher.environment
    assert extensions(teacher.args)["instructor.formgrader"] is True
    student = spawned(config, setup.people.student)
    assert "PYTHONPATH" not in student.environment
    assert extensions(student.args)["instructor.formgrader"] is False
    spawner_class = config.JupyterHub.spawner_class
    assert spawner_class.__name__ == "CourseSpawner"
    assert "make_preexec_fn" in vars(spawner_class)
