# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ivr check
	IVR_ENV=$${IVR_ENV:-development} IVR_RUN_CLOCK=$${IVR_RUN_CLOCK:-1} $(BIN)/flask --app 'ivr.app:create_app()' run --host 127.0.0.1 --port $${PORT:-5000}

test: $(STAMP)
	$(BIN)/ruff check ivr tests bench
	$(BIN)/ruff format --check ivr tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ivr check
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/route_bench.py
	$(BIN)/python bench/webhook_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
