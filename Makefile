# maturity-analysis — run `make` for the list of targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# uv builds .venv from uv.lock; where it is not installed, a private copy is bootstrapped.
UV_BOOT := .uv-bootstrap
UV := $(or $(shell command -v uv 2>/dev/null),$(UV_BOOT)/bin/uv)
export UV_PYTHON_DOWNLOADS := never
DATA ?= sample
PERIOD ?=
JOBS ?=
SCHEDULER ?=
QUICK ?=
PYTEST_ARGS ?=
PDF ?=
LAB_ARGS ?=
# make test-lowest: the declared floors (lowest direct versions) in their own venv, on this subset.
LOWEST := .venv-lowest
LOWEST_TESTS ?= tests/plan tests/ingest tests/analysis tests/output tests/sample tests/reports/test_run.py tests/reports/test_pdf.py

.PHONY: help venv lock data reports test test-lowest lint lab bench clean

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(UV_BOOT)/bin/uv:
	$(PYTHON) -m venv $(UV_BOOT)
	$(UV_BOOT)/bin/python -m pip install --quiet uv

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra test --python $(PYTHON) --quiet --compile-bytecode
	@touch $(STAMP)

venv: $(STAMP) ## create or refresh .venv/ exactly as uv.lock says
lock: | $(UV) ## re-resolve uv.lock after editing pyproject.toml's dependencies
	$(UV) lock

data/raw/sample/policies.xlsx: | $(STAMP)
	$(BIN)/maturity-analysis sample --out data/raw/sample

data: $(STAMP) ## generate the sample dataset into data/raw/sample/
	$(BIN)/maturity-analysis sample --out data/raw/sample

reports: $(STAMP) ## build every branch's reports (DATA=name, PERIOD=2013Q2, JOBS=n, SCHEDULER=tcp://host:8786, PDF=1)
	@if [ "$(DATA)" = sample ] && [ ! -f data/raw/sample/policies.xlsx ]; then $(BIN)/maturity-analysis sample --out data/raw/sample; fi
	$(BIN)/maturity-analysis reports --dataset $(DATA) $(if $(PERIOD),--period $(PERIOD)) $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(PDF),--pdf)

test: $(STAMP) ## run the test suite (notebooks included)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-lowest: | $(UV) ## run LOWEST_TESTS on the lowest versions pyproject.toml allows (in .venv-lowest/)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(LOWEST)
	$(UV) pip compile --quiet pyproject.toml --extra test --resolution lowest-direct --python $(LOWEST)/bin/python -o $(LOWEST)/requirements.txt
	$(UV) pip sync --quiet --python $(LOWEST)/bin/python $(LOWEST)/requirements.txt
	$(UV) pip install --quiet --python $(LOWEST)/bin/python --no-deps -e .
	$(LOWEST)/bin/python -m pytest -n 2 -p no:cacheprovider $(LOWEST_TESTS) $(PYTEST_ARGS)

lint: $(STAMP) ## lint code and notebooks with ruff
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

lab: $(STAMP) data/raw/sample/policies.xlsx ## start JupyterLab on the notebooks (LAB_ARGS="--no-browser --port 8899 --ip 127.0.0.1")
	MATURITY_ANALYSIS_ROOT=$(CURDIR) $(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS) src/maturity_analysis/notebooks

bench: $(STAMP) ## run the benchmarks, write benchmarks/RESULTS.md (QUICK=1: a smaller set)
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick)

clean: ## remove generated data, reports and caches (keeps .venv)
	rm -rf data/processed/* data/processed/.evaluations data/raw/sample reports/* .pytest_cache $(UV_BOOT) $(LOWEST)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
