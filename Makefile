# deeplimits: `make replicate` runs the default (quick, offline) replication, `make test` the tests.
# Both create the environment (.venv, exact versions from requirements.lock) when it is missing.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SNAKEMAKE := $(BIN)/snakemake
SCALE ?= quick

NOTEBOOK_RULES := notebook
FIGURE_RULES := $(NOTEBOOK_RULES) claims_table claims_table_cpu compare_snapshot figures
# At paper scale, figures are rebuilt from the snapshot of the claims a CPU runs.
SNAPSHOT := artifacts/paper-cpu
FIGURES_CONFIG := figures_only=true $(if $(filter paper,$(SCALE)),cpu_only=true,)

.PHONY: replicate test env lint docs estimate record-run figures bundle unbundle smoke paper paper-cpu paper-snapshot lock envs bench smoke-reference

env: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

replicate: env
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) --config scale=$(SCALE) $(SNAKEMAKE_ARGS)
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) --config scale=$(SCALE) --report results/$(SCALE)/report.html

smoke:
	$(MAKE) replicate SCALE=smoke

# The GPU's memory (MiB) that parallel training jobs share (each declares its estimate,
# costs.py); without nvidia-smi, the default profile's grant stands.
GPU_MEM_MB ?= $(shell nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -n 1)

# What a run will cost before it starts (jobs per rule, CPU and GPU hours per claim), scaled
# from the runs recorded on this machine; the paper scale's page is docs/estimate.md.
estimate: env
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m deeplimits estimate --config scale=$(if $(filter quick,$(SCALE)),paper,$(SCALE)) \
		$(if $(filter quick paper,$(SCALE)),--out docs/estimate.md,)

paper:
	$(MAKE) replicate SCALE=paper $(if $(GPU_MEM_MB),SNAKEMAKE_ARGS="--resources gpu_mem_mb=$(GPU_MEM_MB)",)

# The paper-scale claims a CPU can run (hours on 2 cores; resumable): their table, the
# notebooks of those claims and the report.
paper-cpu: env
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) --config scale=paper cpu_only=true
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) --config scale=paper cpu_only=true --report results/paper/report.html

# Retake the committed snapshot (SNAPSHOT) from a finished `make paper-cpu`, with NOTE saying
# what ran, then the pages generated from it; the old snapshot is replaced only once the new
# one is complete.
PAPER_PATHS := huang_zhang xu_zhang cont_rossier_xu thorpe_van_gennip replication/claims_cpu.csv replication/claims_cpu.md
paper-snapshot: env
	test -n "$(NOTE)" || (echo "usage: make paper-snapshot NOTE='what ran, where, when'"; exit 2)
	rm -rf $(SNAPSHOT).new
	$(BIN)/python -m deeplimits snapshot results/paper $(PAPER_PATHS) --out $(SNAPSHOT).new --note "$(NOTE)"
	rm -rf $(SNAPSHOT)
	mv $(SNAPSHOT).new $(SNAPSHOT)
	$(BIN)/python -m deeplimits docs

test: env
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest -q --durations=15

lint: env
	$(BIN)/ruff check src tests bench notebooks
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) --lint
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/mkdocs build --strict --quiet --site-dir $$(mktemp -d)

# The generated docs pages (claim cards, status, benchmarks) from the result files behind them.
docs: env
	$(BIN)/python -m deeplimits docs

# Record a finished run's span, jobs and times (artifacts/runs/<scale>.json), for docs/status.md.
record-run: env
	$(BIN)/python -m deeplimits record-run results/$(SCALE) --logs logs/$(SCALE) --out artifacts/runs/$(SCALE).json

# Rebuild figures, tables, notebooks and the report from existing analysis results,
# never training (see README: "Figures without retraining").
figures: env
	$(if $(filter paper,$(SCALE)),$(BIN)/python -m deeplimits restore-snapshot $(SNAPSHOT) --dest results/paper)
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) figures --config scale=$(SCALE) $(FIGURES_CONFIG) \
		--allowed-rules $(FIGURE_RULES) --forcerun $(NOTEBOOK_RULES) claims_table claims_table_cpu
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) figures --config scale=$(SCALE) $(FIGURES_CONFIG) \
		--allowed-rules $(FIGURE_RULES) --report results/$(SCALE)/report.html

# The smoke run's claim files, committed as the reference the test suite's smoke run must
# reproduce (tests/test_workflow.py): run after an intended change of the science, and commit
# the new reference with the table of what moved (printed here).
SMOKE_REFERENCE := artifacts/smoke-reference
smoke-reference: env
	rm -rf results/smoke
	PATH=$(CURDIR)/$(BIN):$$PATH $(SNAKEMAKE) --config scale=smoke progress=false
	-$(BIN)/python -m deeplimits compare $(SMOKE_REFERENCE) results/smoke --exact
	rm -rf $(SMOKE_REFERENCE)
	$(BIN)/python -m deeplimits snapshot results/smoke huang_zhang xu_zhang cont_rossier_xu thorpe_van_gennip \
		--claims-only --out $(SMOKE_REFERENCE) --note "make smoke-reference"

bundle: env
	$(BIN)/python -m deeplimits bundle results/$(SCALE) --out results/bundle-$(SCALE).tar.gz

unbundle: env
	test -n "$(BUNDLE)" || (echo "usage: make unbundle BUNDLE=path/to/bundle.tar.gz"; exit 2)
	$(BIN)/python -m deeplimits unbundle $(BUNDLE) --dest .

lock:
	{ echo "# Exact versions of every package, transitive ones included (Linux x86_64, Python 3.11)."; \
	  echo "# Regenerate: make lock (pip freeze of a working .venv). envs/deeplimits.yaml is made from this file."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^deeplimits'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
	$(MAKE) envs

envs:
	$(BIN)/python -m deeplimits.lockfile

bench: env
	$(BIN)/python bench/train_throughput.py --quick
