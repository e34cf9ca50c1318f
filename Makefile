# Two entry points for a fresh machine: `make quickstart` and `make test`.
# Both create their own virtual environment in .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: quickstart test bench clean

$(BIN)/xcosmo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

quickstart: $(BIN)/xcosmo
	$(BIN)/xcosmo quickstart --out quickstart-output --overwrite

test: $(BIN)/xcosmo
	$(BIN)/python -m pytest -q

bench: $(BIN)/xcosmo
	$(BIN)/python -m pytest bench -q --benchmark-enable --benchmark-only

clean:
	rm -rf $(VENV) quickstart-output .pytest_cache .benchmarks
