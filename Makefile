# OpenIOP developer commands. On a fresh machine with Python >= 3.11 and make:
#   make demo    a local clinic with synthetic data on http://127.0.0.1:$(PORT)
#   make test    the whole test suite (SQLite; pass DATABASE_URL=postgres://… for PostgreSQL)
# Both create .venv and install the locked dependencies (uv.lock) the first time.

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# uv installs into our .venv, not into a directory of its own choosing, and trusts the
# operating system's certificates like pip does (a clinic's proxy may re-sign TLS).
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_SYSTEM_CERTS ?= true

.DEFAULT_GOAL := help
.PHONY: help demo test test-browser lint format bench clean

help:
	@echo "make demo          run the demo clinic on http://127.0.0.1:$(PORT) (PORT=…)"
	@echo "make test          run the whole test suite (DATABASE_URL=… for PostgreSQL)"
	@echo "make test-browser  run only the browser tests (Playwright + /usr/bin/chromium)"
	@echo "make lint          ruff check, ruff format --check, makemigrations --check"
	@echo "make format        ruff format and autofix"
	@echo "make bench         run the benchmarks in bench/ and print their figures"
	@echo "make clean         remove .venv, caches and test artifacts (keeps var/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A file target, so that later runs skip the install until the lock or the project changes.
$(VENV)/.synced: uv.lock pyproject.toml | $(BIN)/python
	@if command -v uv >/dev/null 2>&1; then UV=uv; \
	else \
		[ -x $(BIN)/uv ] || $(BIN)/pip install --quiet uv; \
		UV=$(BIN)/uv; \
	fi; \
	$$UV sync --locked
	@touch $@

demo: $(VENV)/.synced
	$(BIN)/openiop demo --port $(PORT)

test: $(VENV)/.synced
	$(BIN)/pytest $(PYTEST_ARGS)

test-browser: $(VENV)/.synced
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

lint: $(VENV)/.synced
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/openiop makemigrations --check --dry-run

format: $(VENV)/.synced
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.synced
	$(BIN)/python bench/audit_trail.py
	$(BIN)/python bench/patient_search.py
	$(BIN)/python bench/iop_pages.py
	$(BIN)/python bench/clinical_notes.py
	$(BIN)/python bench/screen_selection.py
	$(BIN)/python bench/outcomes_report.py
	$(BIN)/python bench/review_engine.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
