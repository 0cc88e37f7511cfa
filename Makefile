PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-work

.PHONY: install demo test lint bench clean

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

bench: install
	$(BIN)/python benchmarks/build_throughput.py bench-work
	$(BIN)/python benchmarks/feature_throughput.py
	$(BIN)/python benchmarks/shard_memory.py bench-work/shard

clean:
	rm -rf $(VENV) $(DEMO_DIR) bench-work .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
