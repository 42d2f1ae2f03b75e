# Placement Portal: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
HOST ?= 127.0.0.1
PORT ?= 5000
# Links in emails and the sign-in line seed-demo prints follow the address make serves on (an env value wins).
PORTAL_BASE_URL ?= http://$(HOST):$(PORT)
export PORTAL_BASE_URL

.PHONY: run serve install install-dev test test-fast test-browser lint bench browser-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## run: create the venv, install, migrate, build the postcode lookup, seed demo data, serve with the scheduler and a task worker
run: install
	$(FLASK) db upgrade
	$(FLASK) geo build
	$(FLASK) seed-demo
	@echo "Serving on $(PORTAL_BASE_URL) with the scheduler and a task worker alongside (Ctrl+C stops all three)"
	@$(FLASK) scheduler run & scheduler=$$!; \
	$(FLASK) tasks run & worker=$$!; \
	trap 'kill $$scheduler $$worker 2>/dev/null; wait $$scheduler $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

## serve: the web app only (no scheduler, no task worker: browser imports wait), on an existing database
serve: install
	$(FLASK) run --host $(HOST) --port $(PORT)

## browser-deps: Debian's chromium for the browser tests (installed when missing and we are root)
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	    { echo "Could not install chromium: run 'sudo apt-get install chromium'"; exit 1; }; \
	  else \
	    echo "The browser tests need Debian's chromium: run 'sudo apt-get install chromium', then make test again."; exit 1; \
	  fi; \
	fi

lint: install-dev
	$(BIN)/ruff check portal tests benchmarks migrations/env.py gunicorn.conf.py
	$(BIN)/mypy

## test: lint, then the whole suite on SQLite, then again on PostgreSQL when PORTAL_TEST_DATABASE_URL is set
test: install-dev browser-deps lint
	env -u PORTAL_TEST_DATABASE_URL $(BIN)/pytest -q
	@if [ -n "$$PORTAL_TEST_DATABASE_URL" ]; then \
	  echo "Running the suite again on PostgreSQL ($$PORTAL_TEST_DATABASE_URL)"; \
	  $(BIN)/pytest -q -m "not browser"; \
	fi

## test-fast: the suite without the browser tests, SQLite only
test-fast: install-dev
	env -u PORTAL_TEST_DATABASE_URL $(BIN)/pytest -q -m "not browser"

test-browser: install-dev browser-deps
	env -u PORTAL_TEST_DATABASE_URL $(BIN)/pytest -q -m browser

bench: install-dev
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
