PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-work

.PHONY: install demo test lint bench bench-peers clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/python -m spectroprep.demo $(DEMO_DIR)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check spectroprep tests
	$(BIN)/ruff format --check spectroprep tests
	$(BIN)/mypy spectroprep

# every benchmark, side by side with its baselines; writes benchmarks/RESULTS.md
bench: install
	$(BIN)/python benchmarks/run_all.py bench-work

# the optional peer for `make bench`: Lhotse, with the CPU build of torch
bench-peers: install
	$(BIN)/pip install --quiet torch==2.13.0 lhotse lilcom

clean:
	rm -rf $(VENV) $(DEMO_DIR) bench-work .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
