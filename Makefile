PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Keras on TensorFlow and the tf.data route, tested without torch (TensorFlow pins an
# older h5py than the main environment's)
TF_VENV := .venv-tf
TF_STAMP := $(TF_VENV)/.installed
DEMO_DIR ?= demo-work

.PHONY: install install-tf demo test lint bench bench-scale bench-peers clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install-tf: $(TF_STAMP)

$(TF_STAMP): pyproject.toml
	$(PYTHON) -m venv $(TF_VENV)
	$(TF_VENV)/bin/pip install --quiet --upgrade pip
	$(TF_VENV)/bin/pip install --quiet -e '.[tensorflow-test]'
	touch $(TF_STAMP)

demo: install
	$(BIN)/python -m spectroprep.demo $(DEMO_DIR)

test: install install-tf
	$(BIN)/python -m pytest -q --ignore=tests/test_tensorflow.py
	KERAS_BACKEND=tensorflow $(TF_VENV)/bin/python -m pytest -q -p no:cacheprovider \
		tests/test_keras.py tests/test_tensorflow.py

lint: install
	$(BIN)/ruff check spectroprep tests
	$(BIN)/ruff format --check spectroprep tests
	$(BIN)/mypy spectroprep
	$(BIN)/lint-imports

# every benchmark, side by side with its baselines; writes benchmarks/RESULTS.md
bench: install install-tf
	$(BIN)/python benchmarks/run_all.py bench-work

# reading at 10k, 100k and 1.02M examples (2,000 shards): up to an hour and ~35 GB of
# cached datasets in bench-work/scale (torch routes need `make bench-peers`); writes
# benchmarks/SCALE.md
bench-scale: install
	$(BIN)/python benchmarks/read_scale.py bench-work/scale --sizes 10000,100000,1024000 \
		--json bench-work/scale/scale.json --markdown benchmarks/SCALE.md

# the optional peer for `make bench`: Lhotse, with the CPU build of torch
bench-peers: install
	$(BIN)/pip install --quiet torch==2.13.0 lhotse lilcom

clean:
	rm -rf $(VENV) $(TF_VENV) $(DEMO_DIR) bench-work .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
