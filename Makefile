# maturity-analysis — run `make` for the list of targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= sample
PERIOD ?= 2013
JOBS ?=
SCHEDULER ?=
QUICK ?=
PYTEST_ARGS ?=

.PHONY: help venv data reports test lint lab bench clean

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP) ## create or refresh the environment in .venv/

data/raw/sample/policies.xlsx: | $(STAMP)
	$(BIN)/maturity-analysis sample --out data/raw/sample

data: $(STAMP) ## generate the sample dataset into data/raw/sample/
	$(BIN)/maturity-analysis sample --out data/raw/sample

reports: $(STAMP) ## build every branch's reports (DATA=name, PERIOD=2013Q2, JOBS=n, SCHEDULER=tcp://host:8786)
	@if [ "$(DATA)" = sample ] && [ ! -f data/raw/sample/policies.xlsx ]; then $(BIN)/maturity-analysis sample --out data/raw/sample; fi
	$(BIN)/maturity-analysis reports --dataset $(DATA) --period $(PERIOD) $(if $(JOBS),--jobs $(JOBS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

test: $(STAMP) ## run the test suite (notebooks included)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP) ## lint code and notebooks with ruff
	$(BIN)/ruff check src tests notebooks
	$(BIN)/ruff format --check src tests notebooks

lab: $(STAMP) ## start JupyterLab with the project's environment
	$(BIN)/jupyter lab notebooks

bench: $(STAMP) ## run the benchmarks, write benchmarks/RESULTS.md (QUICK=1: a smaller set)
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick)

clean: ## remove generated data, reports and caches (keeps .venv)
	rm -rf data/processed/* data/raw/sample reports/* .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
