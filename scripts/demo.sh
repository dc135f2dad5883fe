#!/usr/bin/env bash
# `make demo`: start the built-in lab with the financial-mlops platform (seed 003) and a real MLflow server,
# then run the full disaster-recovery drill against it and print the timed report.
#
# The drill runs with the Seldon scheduler down for the first seconds (a controller outage), so the teardown
# meets the stuck finalizers of seed 003 and has to clear them. drkit reaches the lab only through its
# kubeconfig, exactly as it would reach a real cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
DRKIT=.venv/bin/drkit
LAB_DIR=.drkit/lab
CONTROL_PLANE=${CONTROL_PLANE:-emulated}  # or real: etcd, kube-apiserver, kube-controller-manager (built once)
WORK=.drkit/demo

if ! $DRKIT lab status --dir "$LAB_DIR" >/dev/null 2>&1; then
  echo "==> starting the lab on the $CONTROL_PLANE control plane (API server, operators, MLflow; trains one model per variant)"
  $DRKIT lab up --dir "$LAB_DIR" --platform financial-mlops --control-plane "$CONTROL_PLANE"
else
  echo "==> reusing the lab already running from $LAB_DIR"
fi
eval "$($DRKIT lab env --dir "$LAB_DIR")"

# The drill rewrites model URIs in the manifests it deploys: give it a copy, never the repository's files.
rm -rf "$WORK" && mkdir -p "$WORK"
cp -r manifests "$WORK/manifests"

echo "==> Seldon scheduler down for 15s: deleting the platform will leave Models stuck on their finalizers"
$DRKIT lab fault --dir "$LAB_DIR" --controller-down seldon-scheduler --for 15 >/dev/null

echo "==> drkit drill playbooks/financial-mlops.yaml --yes"
status=0
# MLflow's address comes from MLFLOW_TRACKING_URI (set by `drkit lab env` above), as the playbook says.
$DRKIT drill playbooks/financial-mlops.yaml --yes \
  --set manifests="$PWD/$WORK/manifests/financial-mlops" || status=$?

echo
echo "The lab is still running: 'drkit lab status', 'kubectl get models -A' (KUBECONFIG=$KUBECONFIG),"
echo "'drkit runs list'; stop it with 'drkit lab down --dir $LAB_DIR'."
exit $status
