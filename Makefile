# The front door. `make run` and `make test` are all a newcomer needs (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
STAMP := $(VENV)/.installed

.PHONY: run install services migrate seed test lint format bench shell

run: install services migrate seed  ## Install, start PostgreSQL/Redis, migrate, seed demo data, run web + worker + beat
	@$(MANAGE) collectstatic --noinput -v0
	@scripts/print-welcome.sh
	@$(BIN)/honcho start -f Procfile

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $$(command -v $(PYTHON) || command -v python3) -m venv $(VENV) || scripts/ensure-python.sh
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)  ## Create .venv and install the pinned requirements

services:  ## Make sure PostgreSQL and Redis are installed, running and reachable
	@scripts/ensure-services.sh

migrate: install services  ## Migrate public, the tenant template, then every tenant (in parallel)
	@$(MANAGE) migrate_schemas --shared -v0
	@$(MANAGE) sync_tenant_template -v0
	@$(MANAGE) migrate_schemas --tenant --executor=multiprocessing -v0

seed: migrate  ## Staff superuser + demo tenants acme and globex (idempotent)
	@$(MANAGE) seed_demo

test: install services  ## The whole suite (unit, API, two-tenant isolation, Celery worker, Chromium)
	@scripts/ensure-chromium.sh
	@DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest

lint:  ## ruff + mypy
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy .

format:
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

bench: install services  ## Benchmarks with ratios against an in-run baseline (see bench/README.md)
	@$(BIN)/python bench/run.py

shell: install
	@$(MANAGE) shell
