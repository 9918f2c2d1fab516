# The two set-up commands are `make run` and `make test`; everything else is for developers.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := .demo
HTTP_PORT ?= 8080
GRPC_PORT ?= 9090
export GITCONFIG_ADMIN_TOKEN ?= dev-admin-token

.PHONY: run test test-fast coverage lint typecheck check-proto proto bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Serve example-repo/ (copied once into a bare repository under .demo/) on localhost.
run: $(STAMP)
	$(BIN)/python -m gitconfig.runtime.demo --source example-repo --workdir $(DEMO) \
	    --http-port $(HTTP_PORT) --grpc-port $(GRPC_PORT)

## The whole suite: lint, types, generated code check, tests.
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q

## The tests that start no process (marker `slow`), one worker per core: about 2 minutes on 2 cores.
WORKERS ?= 2
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n $(WORKERS)

## The whole suite under coverage, a per-module table (see docs/contributing.md).
coverage: $(STAMP)
	$(BIN)/python -m pytest -q --cov --cov-report=term

lint: $(STAMP)
	$(BIN)/ruff check src cli tests bench
	$(BIN)/ruff format --check src cli tests bench
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

## Regenerate the gRPC code from proto/ (the test suite checks it is up to date).
proto: $(STAMP)
	$(BIN)/python -m gitconfig.grpc.generate

## Benchmarks: see docs/performance.md.
## wrk, etcd and h2load come from Debian: bench/install-tools.sh (as root) installs them.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache .coverage
