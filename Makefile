# `make run` and `make test` bootstrap .venv themselves from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all bench reference docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,dask]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/trainsim run scenarios/h100_100k.toml

test: $(STAMP)
	$(BIN)/ruff check sim tests scenarios bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n 2

test-all: $(STAMP)
	$(BIN)/pytest -q -n 2 -m ''

bench: $(STAMP)
	$(BIN)/python bench/bench_run.py

# Committed results of the shipped scenarios (events.parquet stays out of git: it is large).
reference: $(STAMP)
	for f in scenarios/*.toml; do \
	  $(BIN)/trainsim run $$f --quiet --out results/reference/$$(basename $$f .toml) > /dev/null || exit 1; \
	done

# docs/scenario-reference.md from the scenario model (tests/test_reference.py checks it is current).
docs: $(STAMP)
	$(BIN)/python -m sim.config.reference docs/scenario-reference.md

clean:
	rm -rf $(VENV) results/h100-100k
