#!/bin/bash
# A real Kubernetes control plane (v1.20.2, built from Debian's source package by scripts/realk8s-build.sh) for the
# fidelity tests: etcd, kube-apiserver (127.0.0.1:6443, TLS with its own CA, a static admin token, RBAC),
# kube-controller-manager, kube-scheduler, and the node simulator of tests/Sirocco.NodeSimulator (one node that reports
# pods running and ends run-to-completion pods; no container runs). The binaries are built once per machine into a
# cache folder; everything else lives in a separate run folder.
#
#   scripts/realk8s.sh ensure   build the binaries unless the cache has them (about 5 minutes, ~12 GB while building)
#   scripts/realk8s.sh start    ensure, then start every component unless the server already answers;
#                               prints KUBECONFIG=...
#   scripts/realk8s.sh stop     stop every component and delete etcd's data
#   scripts/realk8s.sh env      print KUBECONFIG=... for a started server
# Loopback ports used: 2379-2381 (etcd), 6443 (API), 10257 (controller manager), 10259 (scheduler).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SIROCCO_REALK8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sirocco/realk8s}
RUN=${SIROCCO_REALK8S_RUN:-${TMPDIR:-/tmp}/sirocco-realk8s}
BIN=$CACHE/bin
STATE=$RUN/run
PKI=$STATE/pki
API=https://127.0.0.1:6443
COMPONENTS=(node-simulator kube-scheduler kube-controller-manager kube-apiserver etcd)

ensure() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl etcd; do
    [ -x "$BIN/$b" ] || { build; return; }
  done
}

build() {
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/realk8s-build.XXXXXX")
  echo "realk8s.sh: building the reference API server in $work (once per machine; cache $CACHE)" >&2
  rm -rf "$BIN.tmp"
  if ! "$REPO/scripts/realk8s-build.sh" "$work" "$BIN.tmp" >"$work.log" 2>&1; then
    tail -40 "$work.log" >&2
    exit 1
  fi
  rm -rf "$BIN" && mv "$BIN.tmp" "$BIN"
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work" "$work.log"
}

# A CA, the API server's serving certificate, the service-account signing key and a static admin token.
make_pki() {
  mkdir -p "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=sirocco-realk8s-ca -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout apiserver.key -out apiserver.csr 2>/dev/null
    printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=serverAuth \
      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      >apiserver.ext
    openssl x509 -req -days 3650 -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -extfile apiserver.ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out service-accounts.key 2048 2>/dev/null
    openssl rsa -in service-accounts.key -pubout -out service-accounts.pub 2>/dev/null
    openssl rand -hex 24 >admin.token
    echo "$(cat admin.token),admin,admin,system:masters" >tokens.csv
    chmod 600 ./*.key tokens.csv admin.token
  )
}

write_kubeconfig() {
  cat >"$STATE/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: realk8s
  cluster:
    server: $API
    certificate-authority: $PKI/ca.crt
users:
- name: admin
  user:
    token: $(cat "$PKI/admin.token")
contexts:
- name: realk8s
  context: {cluster: realk8s, user: admin, namespace: default}
current-context: realk8s
EOF
  chmod 600 "$STATE/kubeconfig"
}

# GET on the API server as admin; prints the body.
api() { curl -s --max-time 2 --cacert "$PKI/ca.crt" -H "Authorization: Bearer $(cat "$PKI/admin.token")" "$API$1"; }

# True when a server started from $RUN answers /readyz.
running() { [ -f "$PKI/admin.token" ] && [ "$(api /readyz)" = ok ]; }

# Polls a check every 0.2 s for at most $1 seconds.
wait_for() {
  local seconds=$1 i
  shift
  for ((i = 0; i < seconds * 5; i++)); do
    if "$@"; then return 0; fi
    sleep 0.2
  done
  return 1
}

# Starts a component in the background; its output goes to logs/NAME.log, its pid to NAME.pid.
launch() {
  local name=$1
  shift
  # Not holding the start lock's descriptor: a component would keep the lock for as long as it runs.
  nohup "$@" >"$STATE/logs/$name.log" 2>&1 9>&- &
  echo $! >"$STATE/$name.pid"
}

etcd_healthy() { curl -sf --max-time 1 http://127.0.0.1:2379/health >/dev/null; }
default_account_ready() { api /api/v1/namespaces/default/serviceaccounts/default | grep -q '"secrets"'; }
node_ready() { api /api/v1/nodes/fake-node-0 | grep -q '"KubeletReady"'; }

start_components() {
  mkdir -p "$STATE/logs"
  [ -f "$PKI/service-accounts.key" ] || make_pki
  write_kubeconfig
  local kubeconfig=$STATE/kubeconfig

  launch etcd "$BIN/etcd" --name realk8s --data-dir "$STATE/etcd-data" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster realk8s=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
    --quota-backend-bytes 2147483648
  wait_for 20 etcd_healthy || { echo "realk8s.sh: etcd did not become healthy" >&2; return 1; }

  # --insecure-port=0: v1.20 still opens an unauthenticated port unless told not to.
  launch kube-apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=6443 --insecure-port=0 \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
    --token-auth-file="$PKI/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/service-accounts.pub" --service-account-signing-key-file="$PKI/service-accounts.key" \
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true --profiling=false \
    --cert-dir="$STATE/apiserver-certs" --v=1
  wait_for 60 running || { echo "realk8s.sh: kube-apiserver did not become ready" >&2; return 1; }

  # The controller manager creates each namespace's default ServiceAccount (v1.20 refuses pods without it).
  launch kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$kubeconfig" \
    --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 --port=0 --cert-dir="$STATE/kcm-certs" \
    --service-account-private-key-file="$PKI/service-accounts.key" --root-ca-file="$PKI/ca.crt" \
    --use-service-account-credentials=false --leader-elect=false --v=1
  launch kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$kubeconfig" \
    --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --port=0 --leader-elect=false --v=1

  # The node: the scheduler binds pods to it, so the simulator does not. It serves container logs as a kubelet does
  # (a pod's fake-kubelet/log annotation), so pods/log works through the API server.
  dotnet build "$REPO/tests/Sirocco.NodeSimulator/Sirocco.NodeSimulator.csproj" -c Release -nologo -v q \
    -o "$RUN/node-simulator" >"$STATE/logs/node-simulator-build.log" 2>&1 \
    || { echo "realk8s.sh: the node simulator did not build" >&2; cat "$STATE/logs/node-simulator-build.log" >&2; return 1; }
  launch node-simulator dotnet "$RUN/node-simulator/Sirocco.NodeSimulator.dll" --kubeconfig "$kubeconfig" \
    --node-name fake-node-0 --bind false --serve-logs true

  wait_for 30 default_account_ready || { echo "realk8s.sh: the default ServiceAccount was not created" >&2; return 1; }
  wait_for 30 node_ready || { echo "realk8s.sh: the simulated node did not become Ready" >&2; return 1; }
}

stop_components() {
  local name pid
  for name in "${COMPONENTS[@]}"; do
    [ -f "$STATE/$name.pid" ] || continue
    pid=$(cat "$STATE/$name.pid")
    kill "$pid" 2>/dev/null || true
    wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
    rm -f "$STATE/$name.pid"
  done
  rm -rf "$STATE/etcd-data"
}

case "${1:-}" in
  ensure) ensure ;;
  start)
    # Idempotent and serialized: test projects running in parallel share one server (its ports are fixed).
    mkdir -p "$RUN"
    exec 9>"$RUN/.lock"
    flock 9
    ensure
    if running; then echo "KUBECONFIG=$STATE/kubeconfig"; exit 0; fi
    stop_components >/dev/null 2>&1 || true
    if ! start_components >"$RUN/start.log" 2>&1; then
      cat "$RUN/start.log" >&2
      stop_components >/dev/null 2>&1 || true
      exit 1
    fi
    echo "KUBECONFIG=$STATE/kubeconfig" ;;
  stop) stop_components ;;
  env) echo "KUBECONFIG=$STATE/kubeconfig" ;;
  *) echo "usage: $0 ensure|start|stop|env" >&2; exit 2 ;;
esac
