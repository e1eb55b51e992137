# pixel-gan command index. Everything runs in .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install demo test test-fast lint bench tensorboard app clean

install: $(STAMP)

# pip (not uv/poetry): torch==2.14.1 and torchvision==0.29.1 install from local wheels where present.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,app,cluster]'
	rm -f $(VENV)/.installed-* && touch $@

## Train the demo experiment (the shipped demo base, procedural data, CPU) and evaluate it.
demo: install
	$(BIN)/python train.py experiment=demo
	run=$$(ls -td outputs/demo/*/ | head -1) && $(BIN)/python evaluate.py runs="$$run" out_dir="$${run}report" \
	  && echo "demo run: $$run  (make tensorboard to watch it)"

test: install
	$(BIN)/python -m pytest -q

## The suite without the slow training tests and the headless-browser tests: for iterating.
test-fast: install
	$(BIN)/python -m pytest -q -m "not slow and not browser"

## ruff (lint + format check) and mypy, configured in pyproject.toml.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m pixel_gan.bench --write docs/benchmarks.md

tensorboard: install
	$(BIN)/tensorboard --logdir outputs --host 127.0.0.1 --port 6006

app: install
	$(BIN)/pixel-gan app

clean:
	rm -rf outputs .cache .pytest_cache
