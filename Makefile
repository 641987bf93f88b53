# The OMS back office. `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CELERY := $(VENV)/bin/celery
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# xdist workers; 2 cores -> 2 workers by default.
TEST_WORKERS ?= auto
PYTEST_ARGS ?=

.PHONY: help install run web worker beat migrate seed test test-fast lint fmt check schema bench compose-config clean mutate

help: ## list the targets (the values of HOST, PORT and VENV filled in)
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' \
	  | sed -e 's/\$$(PORT)/$(PORT)/g' -e 's/\$$(HOST)/$(HOST)/g' -e 's/\$$(VENV)/$(VENV)/g' \
	  | column -t -s $$'\t'

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the app with its dev tools

migrate: install ## apply database migrations
	$(PY) manage.py migrate --noinput

seed: migrate ## load the demo data set (idempotent)
	$(PY) manage.py seed_demo

run: seed ## install, migrate, seed, then web + worker + beat on http://$(HOST):$(PORT)/ (Ctrl-C stops all)
	@mkdir -p var/prometheus && rm -f var/prometheus/*.db
	@echo "OMS on http://$(HOST):$(PORT)/  (admin at /admin/, API docs at /api/docs/)"
	PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/prometheus HOST=$(HOST) PORT=$(PORT) $(PY) scripts/run_all.py

web: install ## the development web server alone on http://$(HOST):$(PORT)/
	$(PY) manage.py runserver $(HOST):$(PORT)

# Production web server. Uses $(VENV)/bin/gunicorn when that venv exists, else `gunicorn` on PATH
# (as in the container image). Workers default to 2 x cores + 1; set WEB_CONCURRENCY to override.
# Run migrations first (`make migrate`, or the compose `migrate` service).
GUNICORN ?= $(if $(wildcard $(VENV)/bin/gunicorn),$(VENV)/bin/gunicorn,gunicorn)
WEB_CONCURRENCY ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) + 1 )))
GUNICORN_TIMEOUT ?= 60
.PHONY: serve
serve: ## production web server: gunicorn on 0.0.0.0:$(PORT) (WEB_CONCURRENCY workers; migrate first)
	exec $(GUNICORN) oms.wsgi:application --bind 0.0.0.0:$(PORT) --workers $(WEB_CONCURRENCY) \
	  --timeout $(GUNICORN_TIMEOUT) --graceful-timeout 30 --keep-alive 5 \
	  --access-logfile - --error-logfile -

worker: install ## a Celery worker alone
	$(CELERY) -A oms worker -l INFO

beat: install ## Celery beat alone (periodic scans)
	$(CELERY) -A oms beat -l INFO -s var/celerybeat-schedule

test: install ## the whole suite (PostgreSQL/Redis/Chromium when there, else announced skips)
	@$(PY) scripts/provision_browser.py
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: install ## ruff, formatting, import layers
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: install ## format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install ## migrations in sync, deploy checks, OpenAPI schema valid
	$(PY) manage.py makemigrations --check --dry-run
	DEBUG=0 SECRET_KEY=$$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=') ALLOWED_HOSTS=oms.example.com \
	  $(PY) manage.py check --deploy --fail-level WARNING
	$(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

schema: install ## write the OpenAPI schema to docs/openapi.yaml
	$(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

# BENCH="capture outbox" runs only those (names without the bench_ prefix); docs/performance.md
# explains the figures and their knobs (BENCH_CAPTURE_SECONDS, BENCH_CAPTURE_RUNS, ...).
BENCH ?=
bench: install ## run the benchmarks (prints a table and bench/results.json); BENCH=capture for one
	$(PY) bench/run.py $(BENCH)

# Not part of `make test` or CI: minutes per module. MUTANTS='oms.kernel.events.x__claim*' for a selection.
MUTANTS ?=
mutate: install ## mutation testing (mutmut) of the invariant-holding functions; prints survivors per module
	$(PY) scripts/mutate.py $(MUTANTS)

compose-config: ## validate docker-compose.yml (no Docker engine needed)
	docker-compose config -q

clean: ## remove var/ (local database, broker, logs) and the pytest cache
	rm -rf var .pytest_cache
