PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Keras on TensorFlow and the tf.data route, tested without torch (TensorFlow pins an
# older h5py than the main environment's)
TF_VENV := .venv-tf
TF_STAMP := $(TF_VENV)/.installed
DEMO_DIR ?= demo-work
CLI = $(BIN)/spectroprep
# the variables a target needs: make stops before doing anything when one is empty
needs_dataset := AUDIO OUT
needs_split := DATASET OUT SPLIT
needs_verify := DATASET
needs_preview := DATASET
$(foreach goal,$(MAKECMDGOALS),$(foreach var,$(needs_$(goal)),$(if $($(var)),,\
	$(error $(var)= is missing; make help shows what $(goal) needs))))

.PHONY: help install install-tf demo test lint bench bench-scale bench-peers clean \
	dataset split verify preview

help: ## list the targets and their variables
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

# ---- your own audio: each target runs one spectroprep command, printed first

dataset: install ## AUDIO=folder OUT=folder [LABELS=csv RECIPE= PRESET= FORMAT= JOBS=]: build, verify, info, preview
	$(CLI) build "$(AUDIO)" --out "$(OUT)" $(if $(LABELS),--labels "$(LABELS)",$(if \
		$(RECIPE),,--labels-from-folders)) $(if $(RECIPE),--recipe $(RECIPE)) $(if \
		$(PRESET),--config $(PRESET)) $(if $(FORMAT),--format $(FORMAT)) $(if $(JOBS),--jobs $(JOBS))
	$(CLI) verify "$(OUT)"
	$(CLI) info "$(OUT)"
	$(CLI) preview "$(OUT)" --out "$(OUT).preview.png"

split: install ## DATASET=folder OUT=folder SPLIT=train=0.8,val=0.1,test=0.1: split by source file
	$(CLI) shard "$(DATASET)" --out "$(OUT)" --split $(SPLIT)

verify: install ## DATASET=folder: prove a dataset complete and uncorrupted
	$(CLI) verify "$(DATASET)"

preview: install ## DATASET=folder [PNG=file]: a picture of a few examples
	$(CLI) preview "$(DATASET)" --out "$(or $(PNG),$(DATASET).preview.png)"

# ---- the project's own chores

install: $(STAMP) ## the environment (.venv), from pyproject.toml


$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install-tf: $(TF_STAMP) ## the TensorFlow test environment (.venv-tf)

$(TF_STAMP): pyproject.toml
	$(PYTHON) -m venv $(TF_VENV)
	$(TF_VENV)/bin/pip install --quiet --upgrade pip
	$(TF_VENV)/bin/pip install --quiet -e '.[tensorflow-test]'
	touch $(TF_STAMP)

demo: install ## build, read, split, verify and draw the built-in demo corpus
	$(BIN)/python -m spectroprep.demo $(DEMO_DIR)

test: install install-tf ## every test, in .venv and in .venv-tf
	$(BIN)/python -m pytest -q --ignore=tests/test_tensorflow.py
	KERAS_BACKEND=tensorflow $(TF_VENV)/bin/python -m pytest -q -p no:cacheprovider \
		tests/test_keras.py tests/test_tensorflow.py

lint: install ## ruff, mypy and the layer contracts
	$(BIN)/ruff check spectroprep tests
	$(BIN)/ruff format --check spectroprep tests
	$(BIN)/mypy spectroprep
	$(BIN)/lint-imports

# every benchmark, side by side with its baselines; writes benchmarks/RESULTS.md
bench: install install-tf ## every benchmark; writes benchmarks/RESULTS.md
	$(BIN)/python benchmarks/run_all.py bench-work

# reading at 10k, 100k and 1.02M examples (2,000 shards): up to an hour and ~35 GB of
# cached datasets in bench-work/scale (torch routes need `make bench-peers`); writes
# benchmarks/SCALE.md
bench-scale: install ## reading at up to 1M examples; writes benchmarks/SCALE.md
	$(BIN)/python benchmarks/read_scale.py bench-work/scale --sizes 10000,100000,1024000 \
		--json bench-work/scale/scale.json --markdown benchmarks/SCALE.md

# the optional peer for `make bench`: Lhotse, with the CPU build of torch
bench-peers: install ## installs Lhotse, the build and read peer of make bench
	$(BIN)/pip install --quiet torch==2.13.0 lhotse lilcom

clean: ## remove the environments, demo and benchmark data
	rm -rf $(VENV) $(TF_VENV) $(DEMO_DIR) bench-work .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
