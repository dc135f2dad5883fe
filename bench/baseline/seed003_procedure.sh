#!/usr/bin/env bash
# Seed 003's manual "infrastructure reproduction test", scripted the way an engineer would script it with
# kubectl, curl and $PY -c: the baseline that bench/drill_vs_kubectl.py runs against the same lab as drkit.
#
#   seed003_procedure.sh MANIFESTS_BASE MLFLOW_URL      (KUBECONFIG names the cluster)
#
# Environment: KUBECTL (default: kubectl on PATH), PYTHON (default python3), POLL_SECONDS (default 2: the sleep of every wait loop),
# POLL_LIMIT (default 150 polls per wait loop, so no loop runs forever).
#
# It prints one marker per event on stdout, `@@ <event> <epoch seconds>`; the benchmark parses them:
#   @@ phase-start:<phase>, @@ phase-end:<phase>   the five phases of drkit's playbook, in the same order
#   @@ noticed:<what>                              a wait loop saw what it waited for
# Choices, so that both contenders do the same work:
# - `kubectl delete -k --wait=false`: with the Seldon scheduler down, a waiting delete hangs on the Models'
#   finalizers; a human presses Ctrl-C and runs the seed's finalizer patches, which is what this does.
# - The three Workflows run one after the other (the training ones need the dataset), as the playbook does.
#   There is no argo CLI, so `argo submit --from workflowtemplate/...` is `kubectl create` of a Workflow with
#   spec.workflowTemplateRef, and `--wait` is a loop polling its phase.
# - The seed's update_model_uris.py becomes curl on MLflow's /ajax-api/ (experiment by name, newest run with
#   params.model_variant, its logged model) and `kubectl patch` of the live Models.
set -euo pipefail

BASE=${1:?usage: seed003_procedure.sh MANIFESTS_BASE MLFLOW_URL}
MLFLOW=${2:?usage: seed003_procedure.sh MANIFESTS_BASE MLFLOW_URL}
K=${KUBECTL:-kubectl}
PY=${PYTHON:-python3}
POLL=${POLL_SECONDS:-2}
LIMIT=${POLL_LIMIT:-150}
SERVING=financial-inference
PIPELINES=financial-mlops-pytorch

mark() { printf '@@ %s %s\n' "$1" "$(date +%s.%N)"; }
fail() { echo "baseline: $*" >&2; exit 1; }

# until_true NAME COMMAND...: run COMMAND every $POLL seconds until it succeeds (at most $LIMIT times).
until_true() {
  local name=$1 tries=0
  shift
  until "$@"; do
    tries=$((tries + 1))
    ((tries < LIMIT)) || fail "gave up waiting for $name after $tries polls"
    sleep "$POLL"
  done
  mark "noticed:$name"
}

namespaces_gone() { ! $K get ns "$SERVING" "$PIPELINES" -o name >/dev/null 2>&1; }
server_ready() { [[ $($K get server mlserver -n "$SERVING" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]; }
secret_exists() { $K get secret seldon-rclone-gs-public -n "$SERVING" -o name >/dev/null 2>&1; }
models_ready() {
  local states
  states=$($K get models -n "$SERVING" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}')
  [[ $states == "True True " ]]
}
experiment_ready() { [[ $($K get experiment financial-ab-test-experiment -n "$SERVING" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }

# run_workflow TEMPLATE [VARIANT]: `argo submit --from workflowtemplate/TEMPLATE --wait`, with kubectl.
run_workflow() {
  local template=$1 variant=${2:-} name args="" phase tries=0
  if [[ -n $variant ]]; then
    args="  arguments: {parameters: [{name: model-variant, value: $variant}]}"
  fi
  name=$($K create -n "$PIPELINES" -o name -f - <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: $template-}
spec:
  workflowTemplateRef: {name: $template}
$args
EOF
)
  name=${name#*/}
  while :; do
    phase=$($K get workflow "$name" -n "$PIPELINES" -o jsonpath='{.status.phase}')
    case $phase in
      Succeeded) break ;;
      Failed | Error) fail "workflow $name ended $phase" ;;
    esac
    tries=$((tries + 1))
    ((tries < LIMIT)) || fail "gave up waiting for workflow $name"
    sleep "$POLL"
  done
  mark "noticed:workflow:$name"
}

# model_uri VARIANT: the storage URI of the newest model trained for VARIANT (update_model_uris.py).
model_uri() {
  local exp_id=$1 variant=$2
  curl -sf -X POST -H 'Content-Type: application/json' "$MLFLOW/ajax-api/2.0/mlflow/runs/search" \
    -d "{\"experiment_ids\": [\"$exp_id\"], \"filter\": \"params.model_variant = '$variant'\",
         \"order_by\": [\"attributes.start_time DESC\"], \"max_results\": 1}" |
    $PY -c '
import json, sys
run = json.load(sys.stdin)["runs"][0]
model = run["outputs"]["model_outputs"][0]["model_id"]
experiment = run["info"]["experiment_id"]
print(f"s3://mlflow-artifacts/{experiment}/models/{model}/artifacts")'
}

# 1. Complete infrastructure deletion
mark phase-start:teardown
$K delete -k "$BASE" --wait=false --ignore-not-found
$K patch model baseline-predictor -n "$SERVING" --type=merge -p='{"metadata":{"finalizers":null}}' 2>/dev/null || true
$K patch model enhanced-predictor -n "$SERVING" --type=merge -p='{"metadata":{"finalizers":null}}' 2>/dev/null || true
$K patch experiment financial-ab-test-experiment -n "$SERVING" --type=merge -p='{"metadata":{"finalizers":null}}' 2>/dev/null || true
$K patch server mlserver -n "$SERVING" --type=merge -p='{"metadata":{"finalizers":null}}' 2>/dev/null || true
until_true namespaces-gone namespaces_gone
mark phase-end:teardown

# 2. Infrastructure rebuild
mark phase-start:rebuild
$K apply -k "$BASE"
$K apply -f "$BASE/seldon-rclone-sealed-secret.yaml"
until_true secret secret_exists
until_true server-ready server_ready
mark phase-end:rebuild

# 3. Pipeline validation
mark phase-start:pipelines
run_workflow financial-data-pipeline-template
run_workflow financial-training-pipeline-template baseline
run_workflow financial-training-pipeline-template enhanced
mark phase-end:pipelines

# 4. Model deployment: new URIs from MLflow, then wait for the Models
mark phase-start:deploy
exp_id=$(curl -sf "$MLFLOW/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=financial-mlops" |
  $PY -c 'import json, sys; print(json.load(sys.stdin)["experiment"]["experiment_id"])')
for variant in baseline enhanced; do
  uri=$(model_uri "$exp_id" "$variant")
  $K patch model "$variant-predictor" -n "$SERVING" --type=merge -p="{\"spec\":{\"storageUri\":\"$uri\"}}"
done
until_true models-ready models_ready
mark phase-end:deploy

# 5. Validation checklist (one pass, as the seed's health-check script)
mark phase-start:validate
pods=$($K get pods -n "$SERVING" -l seldon-server-name=mlserver \
  -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.ready}{" "}{end}{end}')
[[ -n $pods && $pods != *false* ]] || fail "MLServer pod containers not all ready: $pods"
models_ready || fail "Models not Ready"
experiment_ready || fail "Experiment financial-ab-test-experiment not Ready"
succeeded=$($K get workflows -n "$PIPELINES" -o jsonpath='{range .items[*]}{.status.phase}{" "}{end}')
[[ $succeeded == "Succeeded Succeeded Succeeded " ]] || fail "Workflows: $succeeded"
curl -sf "$MLFLOW/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=financial-mlops" >/dev/null ||
  fail "MLflow API does not answer"
mark phase-end:validate
