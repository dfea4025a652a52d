# The two commands of the README's quick start, and what they stand on.
#   make run   set everything up, build the SQLite demo workspace, serve the apps
#   make test  set everything up, then lint, type-check and run the whole test suite
#   make proxy configurable-http-proxy for `itu-plan hub` (npm install from package.json)

# Other OS users run this venv under `itu-plan hub`: build it from the system Python (a python3
# found first on root's PATH may live under /root, closed to everyone else).
PYTHON ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo.db
PORT ?= 8866

.PHONY: run test setup lint typecheck pytest browser proxy clean

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

# configurable-http-proxy for `itu-plan hub` and its test, from package.json (the npm registry)
PROXY := node_modules/.bin/configurable-http-proxy
proxy: $(PROXY)

$(PROXY): package.json
	@if command -v npm >/dev/null; then npm install --no-audit --no-fund --loglevel=error && touch $(PROXY); \
	else echo "npm is missing: itu-plan hub and its test need it (apt-get install npm)"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) browser proxy
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache *.egg-info
