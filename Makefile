# The two commands of the README's quick start, and what they stand on.
#   make run   set everything up, build the SQLite demo workspace, serve the apps
#   make test  set everything up, then lint, type-check and run the whole test suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo.db
PORT ?= 8866

.PHONY: run test setup lint typecheck pytest browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	@test -f $(DEMO_DB) || $(BIN)/itu-plan --db sqlite:///$(DEMO_DB) demo
	$(BIN)/itu-plan --db sqlite:///$(DEMO_DB) serve --port $(PORT)

# Debian's Chromium for the browser tests (never `playwright install`: it downloads).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium for the browser tests ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium is missing: the browser tests will skip (sudo apt-get install chromium)"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
