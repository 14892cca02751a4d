# loginguard: two commands for a fresh machine with python3 (>= 3.11) and make.
#   make run   install, migrate SQLite under var/, load demo data, serve on :8000
#   make test  install, then ruff, mypy and the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
UV := .uv/bin/uv
BIN := $(VENV)/bin

.PHONY: run test install lint typecheck pytest browser clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "loginguard needs Python 3.11 or newer")'
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(BIN)/loginguard: $(UV) pyproject.toml uv.lock
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet --python $(PYTHON)
	@touch $@

install: $(BIN)/loginguard

run: install
	@$(BIN)/python scripts/run_demo.py

lint: install
	$(BIN)/ruff check src tests scripts $(wildcard bench) $(wildcard examples)

typecheck: install
	DEBUG=true PYTHONWARNINGS=ignore $(BIN)/mypy

browser:
	@bash scripts/ensure-test-tools.sh

pytest: install browser
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .uv var
