# Almanac Futures. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export DVC_NO_ANALYTICS = 1
export PATH := $(abspath $(BIN)):$(PATH)
SHELL := bash
# pip's progress as one line per package ("Collecting ...", then "Installing collected packages" and "Successfully
# installed"); its warnings and errors go to stderr, untouched. pipefail: the install still fails when pip fails.
PIP_INSTALL = set -o pipefail; PYTHONUNBUFFERED=1 $(BIN)/python -m pip install --progress-bar off
PIP_LINES = { grep --line-buffered -E '^(Collecting|Processing|Installing|Successfully)' || true; }

.DEFAULT_GOAL := help
.PHONY: help venv dev chromium repro test lint exp lab report bench robustness sweep clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || { echo "== creating $(VENV) with $$($(PYTHON) --version)"; $(PYTHON) -m venv $(VENV); }
	@echo "== upgrading pip in $(VENV)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "== installing the $$(grep -c '==' requirements.txt) pinned requirements (about 2-3 minutes on a first run)..."
	$(PIP_INSTALL) -r requirements.txt | $(PIP_LINES)
	@echo "== installing almanac from src/ (editable)"
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@
	@echo "== $(VENV) is ready"

$(BIN)/.dev-installed: $(BIN)/.installed requirements-dev.txt
	@echo "== installing the test and development tools (requirements-dev.txt)"
	$(PIP_INSTALL) -r requirements-dev.txt | $(PIP_LINES)
	$(MAKE) --no-print-directory chromium
	@touch $@

# The browser tests drive Debian's chromium with Playwright (Playwright cannot download its own browsers here).
chromium: ## install Debian's chromium for the browser tests (as root; otherwise says how)
	@command -v chromium >/dev/null 2>&1 && echo "chromium: $$(command -v chromium)" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the browser tests will skip"; \
	  else echo "chromium not found: run 'sudo apt-get install chromium' for the browser tests (they skip without it)"; fi; }

venv: $(BIN)/.installed ## create .venv with the pinned requirements

dev: $(BIN)/.dev-installed ## create .venv with the pinned requirements and the test tools

repro: venv ## set up and run the whole pipeline on the default params (dvc repro)
	$(BIN)/dvc repro

test: dev ## set up and run the whole test suite
	$(BIN)/python -m pytest -n 2 -q

lint: dev ## ruff check and format check
	$(BIN)/ruff check src stages tests benchmarks
	$(BIN)/ruff format --check src stages tests benchmarks

exp: venv ## the experiments table: changed params, AUC with CI, Brier, oracle efficiency, Sharpe, trades, DSR
	$(BIN)/almanac exps

lab: venv ## the ML Lab (Dash) on http://127.0.0.1:8050/
	$(BIN)/almanac lab

report: venv ## write reports/report.html: headline metrics, charts and trades of the committed run (offline)
	$(BIN)/almanac report --html reports/report.html

bench: venv ## time the stages on the default 9-year market; prints wall time and peak RSS
	$(BIN)/python benchmarks/run.py

robustness: venv ## defaults protocol (16 models, 8 selection + 5 evaluation seeds) and PSR null (~17 min): benchmarks/*.md
	$(BIN)/python benchmarks/model_table.py --jobs 2
	$(BIN)/python benchmarks/psr_null.py

SWEEP_MODELS  ?= logistic,lightgbm,xgboost
SWEEP_CUTOFFS ?= '10:15','10:30'
SWEEP_ARGS    ?= -j 2

sweep: venv ## a grid (3 models x 2 cutoffs) from the committed params with almanac sweep, then the table; SWEEP_ARGS='--local-cluster 2' runs it on Dask
	$(BIN)/almanac sweep -S "train.model=$(SWEEP_MODELS)" -S "features.cutoff=$(SWEEP_CUTOFFS)" $(SWEEP_ARGS)

clean: ## remove the virtual environment and caches (not DVC outputs)
	rm -rf $(VENV) .pytest_cache .ruff_cache
