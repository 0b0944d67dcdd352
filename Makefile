# Herald: the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HERALD_HOME ?= $(CURDIR)/var
export HERALD_HOME

.PHONY: run test test-sqlite test-postgres lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@# axe-core for the browser tests' accessibility checks (they skip without npm).
	-command -v npm >/dev/null && npm ci --prefix herald/web/tests/browser --no-audit --no-fund --loglevel=error
	@# csaf-validator-lib, the CSAF validator consumers run (tests skip without it; CI fails).
	-command -v npm >/dev/null && npm ci --prefix herald/publishing/tests/validators --no-audit --no-fund --loglevel=error
	@# GitHub's OpenAPI description (@octokit/openapi): the contract of every GitHub request in the tests.
	-command -v npm >/dev/null && npm ci --prefix herald/github/tests/openapi --no-audit --no-fund --loglevel=error
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run

## Install, create the database with demo data and an admin, and serve on 127.0.0.1:8000.
run: $(VENV)/.installed-run
	$(BIN)/herald setup --demo
	$(BIN)/herald serve

## Install the test tools, lint, type-check, and run the tests on SQLite and PostgreSQL.
test: $(VENV)/.installed-test lint test-sqlite test-postgres

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy herald
	$(BIN)/lint-imports --no-cache

test-sqlite: $(VENV)/.installed-test
	HERALD_HOME=$(CURDIR)/var/test $(BIN)/pytest -n 2

test-postgres: $(VENV)/.installed-test
	HERALD_HOME=$(CURDIR)/var/test HERALD_TEST_DB=postgres $(BIN)/pytest -n 2

clean:
	rm -rf $(VENV) var/test
