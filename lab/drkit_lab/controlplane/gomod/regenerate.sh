#!/usr/bin/env bash
# Regenerate the pinned Go modules of the lab's control plane for another Kubernetes or etcd version:
#   bash lab/drkit_lab/controlplane/gomod/regenerate.sh v1.37.2 v3.7.3
# Every staging module named in k8s.io/kubernetes's own go.mod is replaced by its release of the same minor.
set -euo pipefail
k8s=${1:?kubernetes version, e.g. v1.37.2}
etcd=${2:?etcd version, e.g. v3.7.3}
here=$(cd "$(dirname "$0")" && pwd)
staging=v0.${k8s#v1.}
gomod=$(go mod download -json "k8s.io/kubernetes@${k8s}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
  head -4 "$here/kube/go.mod"
  printf 'module drkit.io/lab/controlplane/kube\n\ngo 1.26.0\n\ngodebug default=go1.26\n\n'
  printf 'tool (\n\tk8s.io/kubernetes/cmd/kube-apiserver\n\tk8s.io/kubernetes/cmd/kube-controller-manager\n)\n\n'
  printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$k8s"
  grep '=> ./staging' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
  printf ')\n'
} > "$here/kube/go.mod.new"
mv "$here/kube/go.mod.new" "$here/kube/go.mod"
(cd "$here/kube" && GOTOOLCHAIN=local go mod tidy)
(cd "$here/etcd" && GOTOOLCHAIN=local go get "go.etcd.io/etcd/server/v3@${etcd}" && GOTOOLCHAIN=local go mod tidy)
