# Everyday commands. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# uv from PATH, else the one pip installs (run as a module: no PATH or pyenv shim needed).
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)

.PHONY: install run up down status logs test test-unit lint format bench faults schemas clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock libs/*/pyproject.toml services/*/pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --all-packages --frozen
	@touch $@

run: install            ## the whole system in the foreground; Ctrl-C stops it all
	tools/system-packages.sh stack
	$(PY) -m incident_devstack run

up: install             ## the whole system in the background; returns once ready
	tools/system-packages.sh stack
	$(PY) -m incident_devstack up

down:                   ## stop everything `make up` started
	$(PY) -m incident_devstack down

status:
	$(PY) -m incident_devstack status

logs:
	$(PY) -m incident_devstack logs

test: install           ## every test, on a real Kafka and PostgreSQL started as needed
	tools/system-packages.sh test
	$(PY) -m pytest

test-unit: install
	$(PY) -m pytest tests/unit libs -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/events/src libs/kit/src libs/devstack/src libs/devstack/tests services/*/src tests bench faults

clean:                  ## stop the stack, delete its data (.stack/, any cluster under /var/tmp); jars stay
	-[ -x $(PY) ] && $(PY) -m incident_devstack clean
	rm -rf .stack

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Which benchmarks (pipeline, cpu, intake, or all) and their options, e.g.
# make bench BENCH=pipeline BENCH_ARGS="--rates 25,50,100 --step-seconds 20"; `--quick` checks all.
BENCH ?= all
BENCH_ARGS ?=

bench: install          ## the benchmark suite against the running stack (`make up` first); results in bench/results/
	$(if $(filter all intake,$(BENCH)),@bench/system-packages.sh)
	$(PY) -m bench $(BENCH) $(BENCH_ARGS)

# Options of the fault suite, e.g. FAULTS_ARGS="--only kill-kafka poison" or "--short" (the
# version `make test` runs, tests/faults/); `.venv/bin/python -m faults --help` lists them all.
FAULTS_ARGS ?=

faults: install         ## kill, hang and poison the local stack under load (brought up as needed); results in faults/results/
	tools/system-packages.sh stack
	$(PY) -m faults $(FAULTS_ARGS)

schemas: install        ## refresh the committed JSON Schemas (refuses breaking changes)
	$(PY) -m incident_events.schemas export libs/events/schemas
