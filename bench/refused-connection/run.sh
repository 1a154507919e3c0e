#!/usr/bin/env bash
# Issue 14's number: the time from a refused connection to a failed try, with default settings.
# An Airflow DAG file whose KubernetesPodOperator names a kubeconfig for a port nobody listens on; `sirocco tasks
# test` runs it with [kubernetes] api_retry_budget_seconds at its default (120). Prints the elapsed time, the exit
# code and how many retries were logged.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
cat > "$home/stale_kube_config" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "https://127.0.0.1:$port", insecure-skip-tls-verify: true}
users:
- name: someone
  user: {token: "stale-token-value"}
contexts:
- name: gone
  context: {cluster: gone, user: someone}
current-context: gone
YAML
mkdir -p "$home/dags"
cat > "$home/dags/stale.py" <<PY
import datetime

from airflow import models
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with models.DAG(dag_id="stale_cluster", schedule_interval=datetime.timedelta(days=1), start_date=datetime.datetime(2024, 1, 1)) as dag:
    KubernetesPodOperator(task_id="pod-ex-minimum", name="pod-ex-minimum", cmds=["echo"], namespace="composer-user-workloads",
                          image="gcr.io/gcp-runtimes/ubuntu_20_0_4", config_file="$home/stale_kube_config")
PY
dotnet build -c Release "$root/src/Sirocco.Cli" -o "$home/bin" >/dev/null
start=$(date +%s.%N)
set +e
SIROCCO_HOME="$home" dotnet "$home/bin/sirocco.dll" tasks test stale_cluster pod-ex-minimum 2024-01-01 > "$home/out.txt" 2>&1
rc=$?
set -e
end=$(date +%s.%N)
retries=$(grep -c "retrying in" "$home/out.txt" || true)
python3 -c "print(f'refused connection -> failed try: {$end - $start:.1f} s (exit code $rc, $retries retries logged)')"
grep -m1 "unreachable" "$home/out.txt" || true
