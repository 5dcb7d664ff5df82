# foreshock — the two commands a newcomer runs:
#   make demo   venv + install + simulated fleet + incident + root-cause report
#   make test   venv + dev tools + lint + type checks + the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit install clean eval bench services-up services-down services-status \
        lab-up lab-test-up lab-down lab-status lab-tests lab-soak

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/foreshock demo

# style, the package's layers (import-linter contracts in pyproject.toml: no upward import,
# no cycle), no unsafe load/exec/shell (bandit), no missing or unused dependency (deptry)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/bandit -c pyproject.toml -q -r foreshock
	$(BIN)/deptry foreshock

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --ignore=tests/lab --durations=25

# the pipeline on the real-middleware lab: 20 min of normal traffic and no incident (counted
# when the test starts, after the rest of the suite), then real faults; see tests/lab/
LAB_QUIET_MIN ?= 20
lab-tests: $(STAMP)
	FORESHOCK_LAB_QUIET_MIN=$(LAB_QUIET_MIN) $(BIN)/pytest --durations=0 tests/lab

# the long soak, outside `make test` (CI stays under an hour): SOAK_MIN minutes of normal
# lab traffic (30 by default: issue 5's acceptance) through the whole pipeline, no incident
SOAK_MIN ?= 30
lab-soak: lab-test-up
	FORESHOCK_LAB_QUIET_MIN=$(SOAK_MIN) $(BIN)/pytest -s tests/lab/test_1_quiet.py

test: lab-test-up lint typecheck services-up unit lab-tests

# the tests' lab: a running lab is reused; one left stopped (or killed) starts with empty
# data, so the quiet test's history has no gap and no earlier run's faults
lab-test-up: $(STAMP)
	FORESHOCK_LAB_FRESH=auto PYTHON=$(abspath $(BIN)/python) bash infra/lab/lab.sh up

# Real Kafka, Neo4j and OpenSearch on 127.0.0.1 from Maven Central jars (no Docker), plain
# and secured (Kafka SASL_SSL, Neo4j and OpenSearch with TLS + auth, a throwaway CA; off with
# FORESHOCK_SERVICES_SECURE=0); the first run downloads the jars into
# ~/.cache/foreshock-servers (see infra/local/README.md)
services-up: $(STAMP)
	PYTHON=$(abspath $(BIN)/python) bash infra/local/services.sh up

services-down:
	bash infra/local/services.sh down

services-status:
	PYTHON=$(abspath $(BIN)/python) bash infra/local/services.sh status

# The real-middleware lab: Redis, MariaDB, PostgreSQL, exporters, Prometheus and a load
# generator on 127.0.0.1, from Debian packages (installed on first use; see infra/lab/README.md)
lab-up: $(STAMP)
	PYTHON=$(abspath $(BIN)/python) bash infra/lab/lab.sh up

lab-down: $(STAMP)
	PYTHON=$(abspath $(BIN)/python) bash infra/lab/lab.sh down

lab-status: $(STAMP)
	PYTHON=$(abspath $(BIN)/python) bash infra/lab/lab.sh status

eval: $(STAMP)
	$(BIN)/foreshock eval rca --seeds 1-10
	$(BIN)/foreshock eval quiet --seeds 1-10 --hours 24

bench: $(STAMP)
	$(BIN)/foreshock bench detect

clean:
	rm -rf $(VENV) .foreshock .mypy_cache .ruff_cache .pytest_cache
