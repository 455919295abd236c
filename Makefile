# ShopRelay: `make run` for a running system, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: run test lint chromium test-sqlite test-postgres bench messages clean

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

# The browser tests (slow, tests/browser) drive Debian's chromium; installed here when missing.
chromium:
	tests/tools/ensure_chromium.sh

# Quick tests first, then the slow end-to-end ones, on each database.
test-sqlite: $(VENV)/.dev chromium
	$(PYTEST) -q -m "not slow"
	$(PYTEST) -q -m slow

test-postgres: $(VENV)/.dev chromium
	tests/tools/with_postgres.sh sh -c '$(PYTEST) -q -m "not slow" && $(PYTEST) -q -m slow'

bench: $(VENV)/.dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/search.py

# Texts for translators: extract every _() / ngettext() / N_() text into the template,
# then merge it into the English and Thai catalogues (fill the new msgstr entries by hand).
messages: $(VENV)/.runtime
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
		-o bot/locale/shoprelay.pot --project ShopRelay .
	$(BIN)/pybabel update -i bot/locale/shoprelay.pot -d bot/locale -D shoprelay \
		--ignore-obsolete --no-fuzzy-matching

clean:
	rm -rf $(VENV) var/shoprelay.db* .pytest_cache .ruff_cache .mypy_cache
