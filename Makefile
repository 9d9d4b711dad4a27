# AiTrade: `make demo` and `make test` each set up .venv themselves on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.aitrade-installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help demo test test-fast lint bench lab control-room venv clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "AiTrade needs Python >= 3.11, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,dist]'
	@touch $(STAMP)

venv: $(STAMP) ## create or refresh .venv (done by every other target)

demo: $(STAMP) ## the main job, offline on the embedded data
	$(BIN)/python -m aitrade demo

test: $(STAMP) ## the whole test suite
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# unit and contract tests (pure functions, the wire formats, the brokers against loopback fakes): under a minute
FAST_TESTS := $(addprefix tests/test_,calibration labels strategy statefile ids retry_money tinkoff_translate \
	tinvest_errors bitget_requests schema config defaults log kill_file overfit baseline models tinvest_wire_facts \
	broker_base architecture features cache_and_asof broker_contract simulated_broker csv_source venue_fills \
	backtest durability secrets_at_rest)
test-fast: $(STAMP) ## unit and contract tests only (under a minute); make test runs everything
	$(BIN)/python -m pytest -q $(addsuffix .py,$(FAST_TESTS)) $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check, format check and mypy
	$(BIN)/ruff check aitrade widgets tests benchmarks conftest.py
	$(BIN)/ruff format --check aitrade widgets tests benchmarks conftest.py
	$(BIN)/mypy aitrade widgets

bench: $(STAMP) ## speed benchmarks, printed as ratios against peers run side by side
	$(BIN)/python -m benchmarks


lab: $(STAMP) ## JupyterLab on notebooks/, with AITRADE_HOME set to this folder (runs/ and state/ land here)
	AITRADE_HOME=$(CURDIR) $(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

control-room: $(STAMP) ## serve the control room page on 127.0.0.1:8866 (URL with its token in state/control-room.url)
	AITRADE_HOME=$(CURDIR) $(BIN)/aitrade control-room --port $(or $(PORT),8866)

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
