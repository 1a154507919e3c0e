#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need, then `dotnet test`.
# Last line printed: `N passed, N failed, N skipped`, summed from the TRX results.
set -uo pipefail
# Started in the background of a script (`cmd &`), a shell ignores SIGINT and SIGQUIT, and every process below would
# too: the tests that stop `sirocco standalone` with Ctrl-C's SIGINT need the default disposition back.
if [ -z "${SIROCCO_TEST_SIGNALS:-}" ] && env --default-signal=INT true 2>/dev/null; then
  SIROCCO_TEST_SIGNALS=default exec env --default-signal=INT,QUIT "$0" "$@"
fi
cd "$(dirname "$0")/.."
root=$(pwd)

# Debian packages the tests use (real parts, not mocks). Installed only when missing.
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
# A network namespace per pod on the local cluster (user-mode networking to the host and the API server).
command -v slirp4netns >/dev/null 2>&1 || need+=(slirp4netns)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
# PostgreSQL for the metadata store's tests (tests/Sirocco.Testing starts its own server from these binaries).
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# Python's cryptography package: the Fernet interoperability test (Airflow encrypts with it).
python3 -c "import cryptography.fernet" >/dev/null 2>&1 || need+=(python3-cryptography)
# The official Python Kubernetes client (the one Airflow's operator uses) for the client-conformance tests; Debian's
# package is for Debian's python3, which the tests call by its full path.
/usr/bin/python3 -c "import kubernetes" >/dev/null 2>&1 || need+=(python3-kubernetes)
# Chromium for the web UI's browser tests (Playwright drives the Debian package; it cannot download its own).
[ -x /usr/lib/chromium/chromium ] || need+=(chromium)
# The local cluster's image tests: Debian's distribution registry, umoci to build test images from busybox-static,
# skopeo to push them, htpasswd (apache2-utils) for the registry's basic auth.
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
    || echo "warning: apt-get install ${need[*]} failed"
fi

# The reference kube-apiserver v1.20.2 for the fidelity tests: built once per machine into ~/.cache (about 4-5
# minutes the first time), started once here and shared by every test project, stopped at the end.
start=$(date +%s)
if ./scripts/realk8s.sh start >/dev/null; then
  echo "reference kube-apiserver ready after $(( $(date +%s) - start )) s"
else
  echo "warning: the reference kube-apiserver did not start; the fidelity tests will fail"
fi
trap './scripts/realk8s.sh stop >/dev/null 2>&1 || true' EXIT

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet test "$root/Sirocco.slnx" --logger "trx" --results-directory "$results" "$@"
rc=$?

python3 - "$results" "$rc" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
results, rc = sys.argv[1], int(sys.argv[2])
passed = failed = skipped = 0
files = glob.glob(f"{results}/**/*.trx", recursive=True)
for f in files:
    c = ET.parse(f).getroot().find(".//{*}ResultSummary/{*}Counters")
    if c is None:
        continue
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
if rc != 0 and failed == 0:
    # The build or a test host failed before reporting a failing test: count it as one.
    failed = 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $rc
