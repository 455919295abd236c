# ShopRelay: `make run` for a running system, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: run test lint test-sqlite test-postgres bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	$(BIN)/python -m bot migrate
	$(BIN)/python -m bot run

test: lint test-sqlite test-postgres

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy bot db

# Quick tests first, then the slow end-to-end ones, on each database.
test-sqlite: $(VENV)/.dev
	$(PYTEST) -q -m "not slow"
	$(PYTEST) -q -m slow

test-postgres: $(VENV)/.dev
	tests/tools/with_postgres.sh sh -c '$(PYTEST) -q -m "not slow" && $(PYTEST) -q -m slow'

bench: $(VENV)/.dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) var/shoprelay.db* .pytest_cache .ruff_cache .mypy_cache
