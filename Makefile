# drkit: `make` lists the targets. `make demo` and `make test` bootstrap their own environment in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Reinstall only when the project's dependencies change: MLflow alone is about 850 MB.
STAMP := $(VENV)/.drkit-installed-$(shell cat pyproject.toml lab/pyproject.toml | cksum | cut -d' ' -f1)
# What ruff lints and formats: drkit, the lab (its own distribution under lab/), the tests and benchmarks.
SOURCES := drkit lab tests bench

.DEFAULT_GOAL := help
.PHONY: help venv controlplane serving test test-real test-faults lint typecheck unit demo lab-up lab-down bench fmt docs clean

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

# Two test files at a time, as test-real: most end-to-end tests wait on controllers, MLServer loads and
# pipelines, and each file's module fixtures (a lab, a reference drill) stay on one worker.
unit: $(STAMP) controlplane serving ## pytest only
	$(BIN)/pytest -n 2 --dist loadfile --durations=15

test: lint typecheck unit ## lint, types, the whole suite (on the emulated control plane)

# The tests that start labs or reach a cluster, again on the real control plane (etcd, kube-apiserver,
# kube-controller-manager built by `make controlplane`): the end-to-end tests, every shipped playbook, the
# on-call commands and the platform install. Two test files at a time: these tests mostly wait (on
# controllers, MLServer loads, pipelines), so two workers halve the wall time on 2 cores (20 -> 11 min).
REAL_TESTS := tests/e2e tests/cli/test_finalizers_cli.py tests/lab/test_platform_financial_mlops.py \
	tests/mlflow/test_models_rewrite_e2e.py
test-real: $(STAMP) controlplane serving ## The end-to-end tests and playbooks with every lab on the real control plane
	DRKIT_LAB_CONTROL_PLANE=real $(BIN)/pytest -n 2 --dist loadfile --durations=15 $(REAL_TESTS)

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

docs: $(STAMP) ## Regenerate docs/playbook-reference.md and docs/playbook.schema.json from the step schemas
	$(BIN)/drkit schema -o markdown --file docs/playbook-reference.md
	$(BIN)/drkit schema -o json --file docs/playbook.schema.json

clean: ## Remove the environment and local state
	rm -rf $(VENV) .drkit .mypy_cache .ruff_cache .pytest_cache
