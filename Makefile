# Every target sets up what it needs: a virtual environment with the pinned requirements.
#   make demo    regenerate the release, grade the demo class, print the scores
#   make test    the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup release demo-class demo test lint format bench browser-deps

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

setup: $(STAMP)

release: setup
	$(PY) -m instructor release

demo-class: release
	$(PY) -m instructor demo

# The main job: a fresh release, the demo class graded by nbgrader with each student's scores,
# their feedback pages (demo/feedback/) and the class report (reports/initialization/).
demo: demo-class
	$(PY) -m instructor grade --demo
	nbgrader generate_feedback initialization --force --student='demo-*' \
		--CourseDirectory.feedback_directory=demo/feedback --log-level=ERROR
	$(PY) -m instructor report

test: setup browser-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

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
lab-student: setup
	$(PY) -m instructor lab student $(if $(LAB_PORT),--port $(LAB_PORT))

lab-instructor: setup
	$(PY) -m instructor lab instructor $(if $(LAB_PORT),--port $(LAB_PORT))

# Debian's Chromium for the browser tests (tests/test_browser.py), only when it is missing;
# the tests drive it through Playwright, which never downloads a browser of its own.
browser-deps:
	@if [ -x /usr/bin/chromium ]; then \
		echo "Chromium is installed: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y --no-install-recommends \
			chromium fonts-dejavu-core; \
	fi
