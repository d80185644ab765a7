# Everyday commands. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)

.PHONY: install run up down status logs test test-unit lint format bench schemas clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock libs/*/pyproject.toml services/*/pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	uv sync --all-packages --frozen
	@touch $@

run: install            ## the whole system in the foreground; Ctrl-C stops it all
	$(PY) -m incident_devstack run

up: install             ## the whole system in the background; returns once ready
	$(PY) -m incident_devstack up

down:                   ## stop everything `make up` started
	$(PY) -m incident_devstack down

status:
	$(PY) -m incident_devstack status

logs:
	$(PY) -m incident_devstack logs

test: install           ## every test, on a real Kafka and PostgreSQL started as needed
	tools/system-packages.sh
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest tests/unit libs -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/events/src libs/kit/src libs/devstack/src libs/devstack/tests services/*/src tests bench

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

BENCH_COUNT ?= 1000
BENCH_RATE ?= 25

bench: install          ## load against the running stack (`make up` first); results in bench/results/
	$(PY) -m bench --count $(BENCH_COUNT) --rate $(BENCH_RATE)

schemas: install        ## refresh the committed JSON Schemas (refuses breaking changes)
	$(PY) -m incident_events.schemas export libs/events/schemas
