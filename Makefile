# drkit: `make` lists the targets. `make demo` and `make test` bootstrap their own environment in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstall only when the project's dependencies change: MLflow alone is about 850 MB.
STAMP := $(VENV)/.drkit-installed-$(shell cat pyproject.toml lab/pyproject.toml | cksum | cut -d' ' -f1)
# What ruff lints and formats: drkit, the lab (its own distribution under lab/), the tests and benchmarks.
SOURCES := drkit lab tests bench

.DEFAULT_GOAL := help
.PHONY: help venv controlplane serving browser test test-emulated test-faults lint typecheck unit demo lab-up lab-down bench fmt docs clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

$(STAMP): pyproject.toml lab/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# drkit and the lab, both editable: the test extra's `drkit-lab==VERSION` resolves to ./lab.
	$(BIN)/python -m pip install --quiet -e '.[test]' -e ./lab
	@rm -f $(VENV)/.drkit-installed-*
	@touch $@

venv: $(STAMP) ## Create .venv with drkit, the lab and the test tools

lint: $(STAMP) ## ruff (lint and format check) and the import-layer contracts
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP) ## mypy --strict on drkit and the lab
	$(BIN)/mypy

controlplane: $(STAMP) ## Build the real control plane (etcd, kube-apiserver, kube-controller-manager) once
	$(BIN)/drkit lab build --only control-plane

serving: $(STAMP) ## Build the lab's MLServer environment (its model servers run from it) once
	$(BIN)/drkit lab build --only serving

browser: ## Headless Chromium for the report.html browser test (apt-get installs it when missing)
	@bash scripts/ensure-chromium.sh

# Two test files at a time: most end-to-end tests wait on controllers, MLServer loads and pipelines, and each
# file's module fixtures (a lab, a reference drill) stay on one worker. The end-to-end tests (marked
# real_plane) run their labs on the real control plane, every other test on the emulated one.
unit: $(STAMP) controlplane serving browser ## pytest only
	$(BIN)/pytest -n 2 --dist loadfile --durations=15

test: lint typecheck unit ## lint, types, the whole suite (end-to-end tests on the real control plane)

# The end-to-end tests again with every lab on the emulated control plane (the one `make demo` uses; it starts
# in a second and needs no build): the quicker loop while working on drkit. Not part of `make test`.
test-emulated: $(STAMP) serving ## The end-to-end tests with every lab on the emulated control plane
	DRKIT_LAB_CONTROL_PLANE=emulated $(BIN)/pytest -n 2 --dist loadfile --durations=15 -m real_plane

# The fault suite with each fault on its own too (latency, errors, dropped connections, cut watches), which
# `make test` covers only combined: about five more minutes, to tell which fault a failing drill meets.
test-faults: $(STAMP) controlplane serving ## The drill under each injected fault separately, then all at once
	DRKIT_FAULT_SCENARIOS=each $(BIN)/pytest -p no:xdist tests/e2e/test_drill_faults.py

demo: $(STAMP) serving ## Run the example drill against the built-in lab and print the timed report
	@bash scripts/demo.sh

fmt: $(STAMP) ## Format and auto-fix
	$(BIN)/ruff format $(SOURCES)
	$(BIN)/ruff check --fix $(SOURCES)

bench: $(STAMP) ## Benchmarks (lab throughput, drkit against the scripted-kubectl baseline)
	$(BIN)/python -m bench

docs: $(STAMP) ## Regenerate the generated pages (schemas, references, exit codes) and build the site into build/site
	$(BIN)/drkit schema -o markdown --file docs/playbook-reference.md
	$(BIN)/drkit schema -o json --file docs/playbook.schema.json
	$(BIN)/drkit schema --of step-kinds --file docs/step-kinds.md
	$(BIN)/drkit schema --of report -o markdown --file docs/report-schema.md
	$(BIN)/drkit schema --of report -o json --file docs/report.schema.json
	$(BIN)/drkit schema --of exit-codes --file docs/exit-codes.md
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean: ## Remove the environment and local state
	rm -rf $(VENV) .drkit .mypy_cache .ruff_cache .pytest_cache
