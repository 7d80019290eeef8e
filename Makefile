# openrevox — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SDK_VERSIONS := 0.1.1 0.2.0 0.3.0 0.4.0 0.5.0
SDK_DIR := .sdk
SDK_STAMP := $(SDK_DIR)/.installed
export OPENREVOX_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

.PHONY: install run test lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Every published SDK version, side by side, for the conformance tests.
$(SDK_STAMP): Makefile
	rm -rf $(SDK_DIR)
	for v in $(SDK_VERSIONS); do \
		$(BIN)/pip install --quiet --no-deps --target $(SDK_DIR)/$$v revox==$$v || exit 1; \
	done
	touch $(SDK_STAMP)

install: $(STAMP) $(SDK_STAMP)

run: $(STAMP)
	$(BIN)/openrevox serve

test: install
	$(BIN)/python -m openrevox.testing.pg_probe
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# Figures, not tests: `make bench BENCH_ARGS="--duration 5 --backends sqlite"`.
# wrk is the load generator; without it bench/api.py falls back to httpx and says so.
bench: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y wrk \
		|| (apt-get update && apt-get install -y wrk) \
		|| echo "wrk could not be installed: falling back to the httpx load generator"
	$(BIN)/python bench/api.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(SDK_DIR) .pytest_cache .mypy_cache .ruff_cache
