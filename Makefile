# Every target sets up what it needs: a virtual environment with the pinned requirements.
#   make demo    regenerate the release, grade the demo class, print the scores
#   make test    the whole test suite (what CI runs)
SHELL := /bin/bash
# The environment is run by other accounts too: a shared server's students and instructor, the
# tests' Unix users, the grader's private sandbox users. It is made with `venv --copies` from the
# first interpreter, of python3 and Debian's /usr/bin/python3, that every account can run (the
# interpreter and its standard library under folders open to all), so that no folder closed to
# others (pyenv's under /root, say) has to be opened for it. PYTHON=... picks another.
OPEN_TO_ALL := import os, sys, sysconfig; paths = [os.path.realpath(sys.executable), sysconfig.get_paths()["stdlib"]]; sys.exit(any(not os.stat(f).st_mode & 1 for p in paths for f in [p, *map(str, __import__("pathlib").Path(p).parents)]))
PYTHON ?= $(or $(firstword $(foreach p,python3 /usr/bin/python3,$(shell $(p) -c '$(OPEN_TO_ALL)' 2>/dev/null && command -v $(p)))),python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup release demo-class demo test test-fast typecheck lint format bench venv-deps browser-deps db-deps user-deps sandbox-deps hub-deps axe-deps hub hub-clean

$(STAMP): requirements.txt requirements-omitted.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv --copies $(VENV) || { rm -rf $(VENV) && \
		$(MAKE) --no-print-directory venv-deps && $(PYTHON) -m venv --copies $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip uninstall --quiet --yes -r requirements-omitted.txt  # (the file says why)
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	rm -rf *.egg-info  # the build's leftover: pkg_resources would take this folder for a package
	touch $@

setup: $(STAMP)

# The release (release/, not in git) is made from source/ when it is missing or older than what
# it is made from; `make release` makes it again in any case.
RELEASE := release/.made
$(RELEASE): $(STAMP) nbgrader_config.py $(shell find source assignments -type f 2>/dev/null)
	$(PY) -m instructor release
	touch $@

release: setup
	$(PY) -m instructor release
	touch $(RELEASE)

demo-class: $(RELEASE)
	$(PY) -m instructor demo

# The main job: a fresh release, the demo class graded with each student's scores, their
# feedback pages and the class report. The demo class lives apart, in demo/ (an nbgrader course
# folder of its own: gradebook, autograded/, feedback/, reports/), never in the real class.
demo: demo-class
	$(PY) -m instructor grade --demo
	cd demo && nbgrader generate_feedback initialization --force --log-level=ERROR
	$(PY) -m instructor report --demo

# Three pytest workers, a test file each at a time (module fixtures are built once): many tests
# wait on a kernel, a browser, a service's poll or a subprocess, so two cores run three files
# (docs/developers.md has the figures for two, three and four).
test: setup $(RELEASE) browser-deps db-deps user-deps sandbox-deps hub-deps axe-deps typecheck
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -n 3 --dist loadfile --durations=25

# The fast tier for one's own loop: everything but the real notebook runs and the browser
# (the engine's pure parts, intake, rules, helpers, public tests): under a minute on 2 cores.
test-fast: setup $(RELEASE) typecheck
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 -m "not slow and not browser"

# mypy on instructor/: strict on the grading engine, the grading service and the exchange, the
# rest checked (pyproject.toml, [tool.mypy]); its cache is kept in .mypy_cache/ between runs.
typecheck: setup
	$(PY) -m mypy

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# JupyterLab on 127.0.0.1 with a token (printed with its URL):
#   make lab-student      the release copied to student-work/ (a student's files are kept)
#   make lab-instructor   the course root, with nbgrader's Formgrader
# LAB_PORT=N picks the port (default: 8888 when free, else any free one).
.PHONY: lab-student lab-instructor
lab-student: setup $(RELEASE)
	$(PY) -m instructor lab student $(if $(LAB_PORT),--port $(LAB_PORT))

lab-instructor: setup
	$(PY) -m instructor lab instructor $(if $(LAB_PORT),--port $(LAB_PORT))

# Grade on submit: a service that grades each submission of the exchange as it arrives and
# releases the student's feedback (Ctrl-C stops it; docs/instructors.md, "Grade on submit").
# WATCH_WORKERS=N sets the local cluster's worker processes (default: one per core).
.PHONY: watch
watch: setup
	$(PY) -m instructor watch $(if $(WATCH_WORKERS),--workers $(WATCH_WORKERS))

# Debian's python3-venv (ensurepip) when the system's interpreter cannot make an environment.
venv-deps:
	sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	$$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends python3-venv >/dev/null

# Debian's Chromium for the browser tests (tests/course/test_browser.py), only when it is
# missing; the tests drive it through Playwright, which never downloads a browser of its own.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then \
		echo "Chromium is installed: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends \
			chromium fonts-dejavu-core; \
	fi

# Debian's PostgreSQL server for the gradebook tests on PostgreSQL
# (tests/grading/test_databases.py), only when it is missing: the tests start a throwaway
# cluster of their own with its initdb and pg_ctl (tests/databases.py); no server needs to be
# running.
db-deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "PostgreSQL is installed: $$(ls -d /usr/lib/postgresql/*/bin/initdb | tail -1)"; \
	else \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends \
			postgresql >/dev/null; \
	fi

# libseccomp (Debian's libseccomp2, on most systems already) for the sandbox's system-call filter
# in the "landlock" isolation (instructor/grading/sandbox/seccomp.py, through pyseccomp).
sandbox-deps:
	@if /sbin/ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2'; then \
		echo "libseccomp is installed"; \
	else \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends libseccomp2 >/dev/null; \
	fi

# setfacl (Debian's acl package) for the tests with real Unix users (tests/unix_users.py): an
# account made by a test is let through the folders on the way to this checkout's interpreter.
user-deps:
	@if command -v setfacl >/dev/null; then \
		echo "setfacl is installed"; \
	else \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends acl >/dev/null; \
	fi

# Debian's nodejs and npm, when npm is missing: npm installs the packages pinned in a
# package-lock.json (the hub's proxy, the tests' axe-core).
NPM_NEEDED = if ! command -v npm >/dev/null; then \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends nodejs npm >/dev/null; \
	fi

# JupyterHub's proxy, configurable-http-proxy, pinned in hub/package-lock.json and installed
# from the npm registry into hub/node_modules/ (JupyterHub itself is in requirements.txt). It
# needs Node.js 20 or later: Debian's nodejs and npm are installed when node is missing.
PROXY := hub/node_modules/.bin/configurable-http-proxy
$(PROXY): hub/package.json hub/package-lock.json
	@$(NPM_NEEDED)
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || \
		{ echo "configurable-http-proxy needs Node.js 20 or later; this is $$(node --version)"; exit 1; }
	cd hub && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

hub-deps: $(PROXY)

# axe-core, the accessibility checker the tests run in Chromium on the feedback pages and the
# class report (tests/pages/test_accessibility.py), pinned in tests/axe/package-lock.json and
# installed from the npm registry into tests/axe/node_modules/ when missing or older than the
# lock file. It runs in the browser: Node.js only installs it.
AXE := tests/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/axe/package.json tests/axe/package-lock.json
	@$(NPM_NEEDED)
	cd tests/axe && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

axe-deps: $(AXE)

# The course's JupyterHub on 127.0.0.1 for a trial, as root (docs/administrators.md, "On a shared server"):
# Unix groups, a demo instructor and demo students with a password printed for this trial,
# the course released by the instructor, the exchange made by `python -m instructor exchange
# init`, the grading service as the instructor. HUB_PORT=N picks the port (default 8000 when
# free), HUB_DIR the trial's folder (default /srv/initialization-hub; refused when it is a
# system folder or an existing folder no trial made). Ctrl+C stops it (from a script: SIGINT
# to the process group, `kill -INT -- -PGID`: make passes no signal on). `make hub-clean`
# removes everything the trial made, found through its record wherever it was made (HUB_DIR,
# when given, must name that trial's folder).
hub: setup hub-deps
	$(PY) -m hub.trial $(if $(HUB_PORT),--port $(HUB_PORT)) $(if $(HUB_DIR),--dir $(HUB_DIR))

hub-clean: setup
	$(PY) -m hub.trial --remove $(if $(HUB_DIR),--dir $(HUB_DIR))
