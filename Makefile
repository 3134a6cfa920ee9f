# Two commands do all the set-up: `make run` (the service) and `make test` (the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_DEPS := $(VENV)/.run-deps
DEV_DEPS := $(VENV)/.dev-deps

.PHONY: run worker test lint format clean

run: $(RUN_DEPS) ## Start the API on 127.0.0.1:8000 with a supervised worker
	$(BIN)/python -m app

worker: $(RUN_DEPS) ## Run a standalone training worker (when START_WORKER=false)
	$(BIN)/python -m worker

# The store's tests also run on PostgreSQL: a local server is installed and started for them
# (.ci/start-postgres; needs root or sudo). `TEST_POSTGRES_URL= make test` skips them.
# The dashboard's browser test drives Debian's chromium (.ci/install-chromium); without it, it is
# skipped, except in CI.
test: $(DEV_DEPS) ## Install what the tests need and run them
	.ci/install-chromium || true
	TEST_POSTGRES_URL="$${TEST_POSTGRES_URL-$$(.ci/start-postgres || true)}" \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_DEPS) ## Lint, check formatting and type-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(DEV_DEPS)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==25.3

$(RUN_DEPS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_DEPS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(RUN_DEPS)
