# Two commands on a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format clean test-deps bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "omnisync needs Python 3.11 or newer: run make PYTHON=python3.11 …")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP) ## build the demo's feeds into feeds/out, then push them to the local sandbox
	BIN=$(BIN) scripts/demo.sh

test-deps: ## system packages the tests need (headless Chromium, PostgreSQL), installed when missing
	@scripts/install-test-deps.sh

test: $(STAMP) test-deps ## the whole test suite
	$(BIN)/python -m pytest

bench: $(STAMP) ## the benchmark table (benchmarks/run.py): 100k and 1M SKUs, with the pandas baseline
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run.py

lint: $(STAMP) ## ruff and mypy, as CI runs them
	$(BIN)/ruff check omnisync tests benchmarks
	$(BIN)/ruff format --check omnisync tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format omnisync tests benchmarks
	$(BIN)/ruff check --fix omnisync tests benchmarks

clean:
	rm -rf $(VENV) feeds/out .pytest_cache .mypy_cache .ruff_cache
