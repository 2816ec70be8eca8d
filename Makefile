# The two commands of the README: `make run` (the whole stack) and `make test` (the suite).
# Everything else they need is installed by the targets below; nothing is assumed by hand.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# Installs come from the hash-pinned locks (pip --require-hashes); `make lock` regenerates them.
RUN_STAMP := $(VENV)/.run-$(shell cat requirements.lock | sha256sum | cut -c1-12)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements-dev.lock | sha256sum | cut -c1-12)

.PHONY: run test test-fast setup setup-tests agents install install-dev check bench clean lock train-classifier eval-classifier

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RUN_STAMP): requirements.lock constraints.txt | $(PY)
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m src.stack.supply_chain
	touch $@

$(DEV_STAMP): requirements-dev.lock constraints.txt | $(PY)
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m src.stack.supply_chain
	touch $@

## lock: re-resolve requirements*.txt into the hash-pinned locks (uv, in its own venv)
lock:
	test -x .tools/uv/bin/uv || ($(PYTHON) -m venv .tools/uv && .tools/uv/bin/pip install -q uv)
	.tools/uv/bin/uv pip compile -q --python-version 3.11 --generate-hashes -c constraints.txt requirements.txt -o requirements.lock
	.tools/uv/bin/uv pip compile -q --python-version 3.11 --generate-hashes -c constraints.txt requirements-dev.txt -o requirements-dev.lock

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

## agents: install the coordinator's agents (Aider, Cline, OpenHands, Claude Code), pinned, into ~/.cache/multi-llm/tools
agents: install
	$(PY) -m src.stack.agent_tools

## bench: every path side by side (~8 min); writes docs/benchmarks.md and benchmarks/results/latest.json
bench: install-dev setup-tests
	$(PY) -m benchmarks.run

## train-classifier: rebuild data/classifier/model.npz from the training set (offline, deterministic, ~3 min)
## (CLASSIFIER_DATA=path/to/train.jsonl.gz; data/classifier/SOURCES.md says where the set is kept)
train-classifier: install
	$(PY) -m scripts.classifier.train $(if $(CLASSIFIER_DATA),--data $(CLASSIFIER_DATA))

## eval-classifier: score the classifiers on the independent prompts (cache outside the repo; docs/classifier_eval.md)
eval-classifier: install
	$(PY) -m benchmarks.classifier_eval.run

## check: lint, format and type checks
check: install-dev
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/mypy src tests

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
