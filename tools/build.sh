#!/usr/bin/env bash
# Build the test control plane and upstream CLI tools from Go modules, only what is missing.
#
#   tools/build.sh            build into $OUTFITTER_TOOLS_DIR (default ~/.cache/outfitter/tools)
#   tools/build.sh --print    print the bin folder and exit
#
# A tool is rebuilt when its go.mod/go.sum change (a stamp holds their hash). Go's module
# and build caches (GOMODCACHE, GOCACHE) are left where Go keeps them, so a later run —
# CI on the same machine, or the next session — relinks in seconds instead of minutes.
set -euo pipefail

export GOTOOLCHAIN=local   # a go directive above the machine's Go must fail, not download
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${OUTFITTER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/outfitter/tools}"
bin="$out/bin"
if [[ "${1:-}" == "--print" ]]; then echo "$bin"; exit 0; fi
mkdir -p "$bin" "$out/stamps"

# A folder with its own Go source (kustomize-batch) hashes that too.
stamp_of() {
  local dir="$here/$1"
  # shellcheck disable=SC2046  # file names without spaces: tools/ is ours
  cat "$dir/go.mod" "$dir/go.sum" $(find "$dir" -maxdepth 1 -name '*.go' | sort) \
    | sha256sum | cut -c1-16
}
module_version() { (cd "$here/$1" && go list -m -f '{{.Version}}' "$2"); }

# build NAME DIR BINARIES... -- GO-BUILD-ARGS...
build() {
  local dir=$1; shift
  local bins=()
  while [[ $1 != -- ]]; do bins+=("$1"); shift; done; shift
  local stamp; stamp=$(stamp_of "$dir")
  local missing=0
  for b in "${bins[@]}"; do [[ -x "$bin/$b" ]] || missing=1; done
  if [[ $missing == 0 && "$(cat "$out/stamps/$dir" 2>/dev/null)" == "$stamp" ]]; then
    echo "tools: $dir up to date (${bins[*]})"
    return
  fi
  local start=$SECONDS
  echo "tools: building $dir (${bins[*]}) ..."
  (cd "$here/$dir" && go build -trimpath "$@")
  echo "$stamp" > "$out/stamps/$dir"
  echo "tools: $dir built in $((SECONDS - start))s"
}

total=$SECONDS

kube_version=$(module_version kubernetes k8s.io/kubernetes)
kube_minor=$(echo "$kube_version" | cut -d. -f2)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$kube_version"
build kubernetes kube-apiserver kube-controller-manager kube-scheduler -- \
  -ldflags "$ldflags" -o "$bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler

build etcd etcd -- -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3

kwok_version=$(module_version kwok sigs.k8s.io/kwok)
build kwok kwok -- -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version" \
  -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok
# KWOK v0.8 ships no built-in stages when run bare: take the node and pod lifecycle stages
# from its module (initialize, heartbeat; pod create/ready/complete/delete).
kwok_dir=$(cd "$here/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
stages="$out/kwok-stages.yaml"
{
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
           pod/general/pod-create.yaml pod/general/pod-init-container-running.yaml \
           pod/general/pod-init-container-completed.yaml pod/general/pod-ready.yaml \
           pod/general/pod-complete.yaml pod/general/pod-delete.yaml; do
    echo "---"; cat "$kwok_dir/kustomize/stage/$f"
  done
} > "$stages.tmp" && mv "$stages.tmp" "$stages"

kyverno_version=$(module_version kyverno github.com/kyverno/kyverno)
build kyverno kubectl-kyverno -- \
  -ldflags "-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$kyverno_version" \
  -o "$bin/kubectl-kyverno" github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno

build kubeconform kubeconform -- -ldflags "-s -w" -o "$bin/kubeconform" \
  github.com/yannh/kubeconform/cmd/kubeconform

# kustomize-batch: many `kubectl kustomize` builds from one process (validate), with the
# kustomize library version the machine's kubectl embeds (go.mod pins it).
build kustomize-batch kustomize-batch -- -ldflags "-s -w" -o "$bin/kustomize-batch" .

# flux: `flux build kustomization --dry-run` and `flux envsubst` are the oracles of the
# repository model (issue 11). VERSION is stamped without the leading v, as flux's release does.
# The module holds no cmd/flux/manifests/ (a release bundles it by downloading the controller
# manifests), and the module cache is read-only: a copy of the pinned module with a placeholder
# there is built through a workspace. Only `flux install` would read the placeholder.
flux_version=$(module_version flux github.com/fluxcd/flux2/v2)
flux_src="$out/src/flux2-$flux_version"
if [[ ! -f "$flux_src/go.mod" ]]; then
  # `go list -m` names the module's folder only once it is in the module cache: on a machine
  # that has never fetched it (a fresh CI machine), download it first.
  (cd "$here/flux" && go mod download github.com/fluxcd/flux2/v2)
  flux_dir=$(cd "$here/flux" && go list -m -f '{{.Dir}}' github.com/fluxcd/flux2/v2)
  if [[ -z "$flux_dir" || ! -f "$flux_dir/go.mod" ]]; then
    echo "tools: github.com/fluxcd/flux2/v2 $flux_version is not in Go's module cache" >&2
    exit 1
  fi
  rm -rf "$flux_src" "$flux_src.tmp"
  mkdir -p "$out/src"
  cp -r "$flux_dir" "$flux_src.tmp"
  chmod -R u+w "$flux_src.tmp"
  mkdir -p "$flux_src.tmp/cmd/flux/manifests"
  cp "$here/flux/embedded-manifests.yaml" "$flux_src.tmp/cmd/flux/manifests/placeholder.yaml"
  mv "$flux_src.tmp" "$flux_src"
fi
# Written every run: it names this checkout's tools/flux, which differs between worktrees.
printf 'go 1.26.0\n\nuse (\n\t.\n\t%s\n)\n' "$here/flux" > "$flux_src/go.work"
GOWORK="$flux_src/go.work" build flux flux -- \
  -ldflags "-s -w -X main.VERSION=${flux_version#v}" -o "$bin/flux" \
  github.com/fluxcd/flux2/v2/cmd/flux

sops_version=$(module_version sops github.com/getsops/sops/v3)
build sops sops -- -ldflags "-s -w -X github.com/getsops/sops/v3/version.Version=${sops_version#v}" \
  -o "$bin/sops" github.com/getsops/sops/v3/cmd/sops

age_version=$(module_version age filippo.io/age)
build age age age-keygen -- -ldflags "-s -w -X main.Version=$age_version" -o "$bin/" \
  filippo.io/age/cmd/age filippo.io/age/cmd/age-keygen

# CRDs the shared upstream data lacks (Gateway API, envoy-gateway, flux-operator), taken from
# their Go modules at the versions tools/crds/go.mod pins: the tests dry-run HTTPRoutes,
# SecurityPolicies and FluxInstances against the real schemas.
crds_stamp=$(stamp_of crds)-2  # -N: bump when the copied selection changes
if [[ "$(cat "$out/stamps/crds" 2>/dev/null)" != "$crds_stamp" || ! -d "$out/crds" ]]; then
  (cd "$here/crds" && go mod download)
  rm -rf "$out/crds.tmp" && mkdir -p "$out/crds.tmp"/{gateway-api,envoy-gateway,flux-operator}
  gw=$(cd "$here/crds" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
  eg=$(cd "$here/crds" && go list -m -f '{{.Dir}}' github.com/envoyproxy/gateway)
  fo=$(cd "$here/crds" && go list -m -f '{{.Dir}}' github.com/controlplaneio-fluxcd/flux-operator)
  # Only the kinds outfitter renders or reads (the others cost seconds each to install).
  for k in gatewayclasses gateways httproutes referencegrants; do
    cp "$gw/config/crd/standard/gateway.networking.k8s.io_$k.yaml" "$out/crds.tmp/gateway-api/"
  done
  cp "$eg"/charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_securitypolicies.yaml \
    "$out/crds.tmp/envoy-gateway/"
  cp "$fo"/config/crd/bases/fluxcd.controlplane.io_fluxinstances.yaml "$out/crds.tmp/flux-operator/"
  chmod -R u+w "$out/crds.tmp" && rm -rf "$out/crds" && mv "$out/crds.tmp" "$out/crds"
  echo "$crds_stamp" > "$out/stamps/crds"
  echo "tools: crds copied -> $out/crds"
else
  echo "tools: crds up to date"
fi

helm_version=$(module_version helm helm.sh/helm/v4)
build helm helm -- -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version \
  -X helm.sh/helm/v4/internal/version.metadata= -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
  -o "$bin/helm" helm.sh/helm/v4/cmd/helm

# flate (offline Flux renderer, an oracle for validate's builds) needs Go 1.27: that one build
# may fetch its toolchain from the module proxy; every other build stays on the local Go.
flate_version=$(cd "$here/flate" && GOTOOLCHAIN=go1.27.3 go list -m -f '{{.Version}}' \
  github.com/home-operations/flate)
GOTOOLCHAIN=go1.27.3 build flate flate -- \
  -ldflags "-s -w -X main.version=$flate_version" -o "$bin/flate" \
  github.com/home-operations/flate/cmd/flate

echo "tools: all built in $((SECONDS - total))s -> $bin"
