#!/usr/bin/env bash
# Seed 003's teardown and rebuild of N stuck Models, scripted with kubectl the way the seed does it by hand:
# the baseline bench/scale.py runs against the same lab as drkit.
#
#   scale_procedure.sh MANIFEST NAMESPACE N      (KUBECONFIG names the cluster)
#
# Environment: KUBECTL (default kubectl), POLL_SECONDS (default 2: the sleep of every wait loop), POLL_LIMIT
# (default 600 polls per loop). It prints `@@ <event> <epoch seconds>` markers (phase-start:<phase>,
# phase-end:<phase>, noticed:<what>), as seed003_procedure.sh does.
#
# What the seed does, automated without a human's pauses:
# - `kubectl delete -f --wait=false`: with the scheduler gone a waiting delete hangs on the finalizers.
# - the finalizer patch of every stuck Model and Experiment, one `kubectl patch` per object, as the seed's
#   `kubectl patch model ... -p '{"metadata":{"finalizers":null}}'` lines do (a loop over `kubectl get -o name`);
# - `until ! kubectl get ns`: the namespace controller finishes the namespace;
# - `kubectl apply -f`, then polling `kubectl get` until every Model and Experiment is Ready.
set -euo pipefail

MANIFEST=${1:?usage: scale_procedure.sh MANIFEST NAMESPACE N}
NS=${2:?usage: scale_procedure.sh MANIFEST NAMESPACE N}
N=${3:?usage: scale_procedure.sh MANIFEST NAMESPACE N}
K=${KUBECTL:-kubectl}
POLL=${POLL_SECONDS:-2}
LIMIT=${POLL_LIMIT:-600}

mark() { printf '@@ %s %s\n' "$1" "$(date +%s.%N)"; }
fail() { echo "baseline: $*" >&2; exit 1; }

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

namespace_gone() { ! $K get ns "$NS" -o name >/dev/null 2>&1; }
# all_ready KIND: every object of KIND in the namespace has Ready=True, and there are N of them.
all_ready() {
  local ready
  ready=$($K get "$1" -n "$NS" -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true)
  [[ $ready -eq $N ]]
}

mark phase-start:teardown
$K delete -f "$MANIFEST" --wait=false --ignore-not-found >/dev/null
for kind in models.mlops.seldon.io experiments.mlops.seldon.io; do
  for obj in $($K get "$kind" -n "$NS" -o name); do
    $K patch "$obj" -n "$NS" --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
  done
done
until_true namespace-gone namespace_gone
mark phase-end:teardown

mark phase-start:rebuild
$K apply -f "$MANIFEST" >/dev/null
until_true models-ready all_ready models.mlops.seldon.io
until_true experiments-ready all_ready experiments.mlops.seldon.io
mark phase-end:rebuild
