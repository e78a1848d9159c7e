# Rollcall: `make run` to try it, `make test` to test it. Both set up .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint format venv clean bench

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Rollcall needs Python 3.11 (Django 5.2 LTS); set PYTHON=/path/to/python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py setup_demo --url http://$(HOST):$(PORT)
	$(PY) manage.py setup_schedules
	$(PY) manage.py serve $(HOST):$(PORT)

test: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(PY) -m pytest

# The inner loop, about 70 s on two cores (`make test` takes about 3 min): ruff, then
# every test but the slow tiers (real server, worker and sshd processes, fuzzing, whole
# generated districts, the browser), stopping at the first failure. `make test` runs them
# all, as CI does.
test-fast: venv
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -x -q -m "not process and not sftp and not fuzz and not slow and not browser"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache

# Benchmark (issue #3): BENCH_ARGS="--huge" adds 300,000 students; see README.
bench: venv
	$(PY) manage.py bench_sync $(BENCH_ARGS)

# Fuzz `sync_roster --json` with hostile roster files (tests/fuzz): 10,000 inputs by default,
# `make fuzz FUZZ_EXAMPLES=20000` for more, DATABASE_URL=postgres://... for PostgreSQL.
.PHONY: fuzz
fuzz: venv
	$(PY) tests/fuzz/run.py --examples $(or $(FUZZ_EXAMPLES),10000) $(FUZZ_ARGS)
