# Studio: `make run` to use it, `make test` to check it. Both set everything up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# pyenv reads .python-version (3.12.1); fall back to whatever python3.12 exists.
PYTHON_BOOT ?= $(shell command -v python3.12 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
DATA_DIR ?= $(or $(STUDIO_DATA_DIR),./var)
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: help run run-scaled install install-test chromium wrk lint check test test-sqlite test-postgres bench clean

help:
	@echo "make run    set up and start Studio on http://127.0.0.1:$(PORT) (web + worker)"
	@echo "make run-scaled  the same on PostgreSQL, Redis and S3 (moto) with 4 web and 4 worker processes"
	@echo "make test   install test tools (Chromium too), lint, check, run the suite on SQLite and PostgreSQL"
	@echo "make bench  run the benchmarks in benchmarks/"

$(PY):
	$(PYTHON_BOOT) -c 'import sys; assert sys.version_info[:2] == (3, 12), "Studio needs Python 3.12"'
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet ".[test]"
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test chromium

# Debian's Chromium drives the browser tests; Playwright never downloads one.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# wrk is the load generator of the web benchmark.
wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
		echo "Installing Debian's wrk for the web benchmark"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

run: install
	@mkdir -p "$(DATA_DIR)"
	@test -s "$(DATA_DIR)/secret_key" || $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > "$(DATA_DIR)/secret_key"
	@set -e; \
	if [ -f .env ]; then set -a; . ./.env; set +a; fi; \
	export STUDIO_DATA_DIR="$(DATA_DIR)"; \
	export SECRET_KEY="$${SECRET_KEY:-$$(cat "$(DATA_DIR)/secret_key")}"; \
	$(PY) manage.py migrate --noinput -v0; \
	$(PY) manage.py collectstatic --noinput -v0; \
	$(PY) manage.py ensure_admin; \
	echo "Sign in at http://127.0.0.1:$(PORT)/accounts/login/"; \
	exec $(PY) manage.py serve --port "$(PORT)"

# The scaled deployment on this machine: PostgreSQL and Redis as they run here,
# S3 from moto_server on loopback (a test dependency), several web and worker
# processes. Every start is fresh: moto keeps its objects in memory.
run-scaled: $(VENV)/.installed-test
	@PORT="$(PORT)" scripts/run-scaled

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	STUDIO_TESTING=1 $(VENV)/bin/mypy

check: install-test
	STUDIO_TESTING=1 $(PY) manage.py check --fail-level WARNING
	STUDIO_TESTING=1 $(PY) manage.py makemigrations --check --dry-run

test-sqlite: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install-test
	DATABASE_URL="$(PG_URL)" STUDIO_BROKER_URL="$(REDIS_URL)" $(PY) -m pytest $(PYTEST_ARGS)

test: lint check test-sqlite test-postgres

bench: install-test wrk
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info test-results
