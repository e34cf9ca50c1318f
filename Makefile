# Two entry points for a fresh machine: `make quickstart` and `make test`.
# Both create their own virtual environment in .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: quickstart test bench weights scaling-emulator clean

$(BIN)/xcosmo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

quickstart: $(BIN)/xcosmo
	$(BIN)/xcosmo quickstart --out quickstart-output --overwrite

test: $(BIN)/xcosmo
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4

bench: $(BIN)/xcosmo
	$(BIN)/python -m pytest bench -q --benchmark-enable --benchmark-only

# The shipped eLDL weights (emulators/eldl/pretrained) from scratch: the default synthetic suite, the training and the
# validation whose summary goes into the weights' metadata. About 2 hours on a 2-core CPU (README).
weights: $(BIN)/xcosmo
	$(BIN)/xcosmo make-training-set --out training-set
	$(BIN)/xcosmo train-ldl training-set --out train-ldl-output --source synthetic
	$(BIN)/xcosmo validate-ldl train-ldl-output/eldl.eqx --store training-set --out validate-ldl-output --overwrite --ship

# The shipped scaling-relation emulator (emulators/scaling/pretrained) from scratch: the measurement campaign (64 design
# points, one eLDL volume each, twice with two seeds; resumable) and the fit with its cross-validation. About 3 h 20 min on a
# 2-core CPU.
scaling-emulator: $(BIN)/xcosmo
	$(BIN)/xcosmo campaign run scaling-campaign --preset scaling --n 64
	$(BIN)/xcosmo campaign run scaling-campaign-seed1 --preset scaling --n 64 --seed 1
	$(BIN)/xcosmo scaling fit scaling-campaign scaling-campaign-seed1 --out scaling-fit-output --overwrite --ship

clean:
	rm -rf $(VENV) quickstart-output .pytest_cache .benchmarks
