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

# The main job: a fresh release, the demo class graded by nbgrader, each student's scores.
demo: demo-class
	$(PY) -m instructor grade --demo

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
