# The two commands of the README: `make run` (the whole stack) and `make test` (the suite).
# Everything else they need is installed by the targets below; nothing is assumed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.run-$(shell cat requirements.txt | sha256sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

.PHONY: run test test-fast setup setup-tests install install-dev check bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

## setup: build llama-server and fetch the model (both cached), create config/litellm.yaml and .env
setup: install
	$(PY) -m src.stack setup

## run: set up, start llama-server + LiteLLM + router, wait until healthy; Ctrl-C stops all
run: setup
	$(PY) -m src.stack run

## test: set up the same way, then run the whole suite (slow tiers included)
test: install-dev setup-tests
	$(PY) -m pytest

## test-fast: the suite without the slow tier
test-fast: install-dev setup-tests
	$(PY) -m pytest -m "not slow"

setup-tests: install
	$(PY) -m src.stack setup --tests

## bench: every path side by side (~8 min); writes docs/benchmarks.md and benchmarks/results/latest.json
bench: install-dev setup-tests
	$(PY) -m benchmarks.run

## check: lint, format and type checks
check: install-dev
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
