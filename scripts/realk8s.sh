#!/bin/bash
# A real Kubernetes API server (v1.20.2, built from Debian's source package by ../shared/tools/realk8s) for the
# fidelity tests (tests/Sirocco.Fidelity.Tests). Binaries are built once per machine and kept in a cache folder that
# later runs on the same machine find; etcd and the API server run from a separate state folder.
#
#   scripts/realk8s.sh ensure   build the binaries unless the cache has them (about 5 minutes, ~12 GB while building)
#   scripts/realk8s.sh start    ensure, then start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
#                               the fake kubelet, unless they already run; prints KUBECONFIG=...
#   scripts/realk8s.sh stop     stop them and wipe etcd's data
#   scripts/realk8s.sh env      print KUBECONFIG=... for a started server
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SIROCCO_REALK8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sirocco/realk8s}
RUN=${SIROCCO_REALK8S_RUN:-${TMPDIR:-/tmp}/sirocco-realk8s}

tools() {
  local d
  for d in "${SIROCCO_REALK8S_TOOLS:-}" "$REPO/../shared/tools/realk8s" /work/shared/tools/realk8s; do
    if [ -n "$d" ] && [ -x "$d/setup.sh" ]; then cd "$d" && pwd; return 0; fi
  done
  echo "realk8s.sh: the realk8s tools (setup.sh, start.sh) were not found; set SIROCCO_REALK8S_TOOLS" >&2
  return 1
}

ensure() {
  if [ -x "$CACHE/bin/kube-apiserver" ] && [ -x "$CACHE/bin/fake-kubelet" ] && [ -x "$CACHE/bin/etcd" ]; then return 0; fi
  local t build
  t=$(tools)
  build=$(mktemp -d "${TMPDIR:-/tmp}/realk8s-build.XXXXXX")
  echo "realk8s.sh: building the reference API server in $build (once per machine; cache $CACHE)" >&2
  K=$build "$t/setup.sh" >"$build.log" 2>&1 || { tail -40 "$build.log" >&2; exit 1; }
  mkdir -p "$CACHE/bin.tmp"
  cp -p "$build"/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,fake-kubelet,etcd,etcdctl} "$CACHE/bin.tmp/"
  rm -rf "$CACHE/bin" && mv "$CACHE/bin.tmp" "$CACHE/bin"
  chmod -R u+w "$build" 2>/dev/null || true
  rm -rf "$build" "$build.log"
}

# True when a server started from $RUN answers /readyz.
running() {
  local p=$RUN/run/pki
  [ -f "$p/admin.token" ] && [ "$(curl -s --max-time 2 --cacert "$p/ca.crt" -H "Authorization: Bearer $(cat "$p/admin.token")" https://127.0.0.1:6443/readyz)" = ok ]
}

case "${1:-}" in
  ensure) ensure ;;
  start)
    # Idempotent and serialized: test projects running in parallel share one server (ports are fixed).
    mkdir -p "$RUN"
    exec 9>"$RUN/.lock"
    flock 9
    ensure
    if running; then echo "KUBECONFIG=$RUN/run/kubeconfig"; exit 0; fi
    t=$(tools)
    # The daemons must not inherit the lock's descriptor (they would hold the lock for as long as they run).
    K=$RUN BIN=$CACHE/bin "$t/stop.sh" --wipe >/dev/null 2>&1 9>&- || true
    K=$RUN BIN=$CACHE/bin WITH_SCHED=1 "$t/start.sh" >"$RUN/start.log" 2>&1 9>&- || { cat "$RUN/start.log" >&2; exit 1; }
    running || { echo "realk8s.sh: the API server did not become ready" >&2; cat "$RUN/start.log" >&2; exit 1; }
    echo "KUBECONFIG=$RUN/run/kubeconfig" ;;
  stop) t=$(tools); K=$RUN "$t/stop.sh" --wipe ;;
  env) echo "KUBECONFIG=$RUN/run/kubeconfig" ;;
  *) echo "usage: $0 ensure|start|stop|env" >&2; exit 2 ;;
esac
