# Two commands on a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
# Every install comes from uv.lock (exact versions with hashes): a new machine gets the tested
# versions, never whatever PyPI has today. To upgrade: `make lock-upgrade`, run `make test`, commit.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# uv installs from the lock; it is itself pinned and installed into the venv by pip.
UV_VERSION := 0.13.10
UV     := UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv
# --frozen: install exactly the lock, never re-resolve; --inexact: keep pip and uv in the venv.
SYNC   := $(UV) sync --frozen --inexact --python $(BIN)/python
# Both cores: pytest-xdist runs the suite in two processes (CI and the dev machine have 2).
TEST_WORKERS ?= auto

.PHONY: demo test lint format clean test-deps bench lock lock-upgrade

$(STAMP): pyproject.toml uv.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "omnisync needs Python 3.11 or newer: run make PYTHON=python3.11 …")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(SYNC) --quiet --extra dev
	@touch $(STAMP)

demo: $(STAMP) ## build the demo's feeds into feeds/out, then push them to the local sandbox
	BIN=$(BIN) scripts/demo.sh

test-deps: ## system packages the tests need (headless Chromium, PostgreSQL), installed when missing
	@scripts/install-test-deps.sh

test: $(STAMP) test-deps ## the whole test suite, on every core
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

bench: $(STAMP) ## the benchmark table (benchmarks/run.py): 100k and 1M SKUs, with the pandas baseline
	$(SYNC) --quiet --extra dev --extra bench
	$(BIN)/python benchmarks/run.py

lint: $(STAMP) ## ruff and mypy, as CI runs them
	$(BIN)/ruff check omnisync tests benchmarks
	$(BIN)/ruff format --check omnisync tests benchmarks
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format omnisync tests benchmarks
	$(BIN)/ruff check --fix omnisync tests benchmarks

lock: $(STAMP) ## re-lock after editing pyproject.toml's dependencies (keeps the other versions)
	$(UV) lock

lock-upgrade: $(STAMP) ## move every dependency to its newest allowed release; then make test and commit uv.lock
	$(UV) lock --upgrade

clean:
	rm -rf $(VENV) feeds/out .pytest_cache .mypy_cache .ruff_cache
