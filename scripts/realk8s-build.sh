#!/bin/bash
# Builds the reference Kubernetes control plane used by the fidelity tests: kube-apiserver, kube-controller-manager,
# kube-scheduler and kubectl v1.20.2, compiled from Debian bookworm's `kubernetes` source package (its Go dependencies
# are vendored in it) with Debian's Go 1.19, plus etcd 3.4 from Debian. Only Debian's apt repositories are used and
# nothing is installed on the system: packages are unpacked into the work folder.
#
#   scripts/realk8s-build.sh WORK OUT    build in WORK (about 5 minutes, ~12 GB), copy the binaries into OUT
set -euo pipefail
WORK=${1:?usage: realk8s-build.sh WORK OUT}
OUT=${2:?usage: realk8s-build.sh WORK OUT}
SOURCE_VERSION=1.20.5+really1.20.2-1.1+deb12u1
SOURCE_TARBALL=kubernetes_1.20.5+really1.20.2.orig.tar.gz
TREE=$WORK/src/kubernetes-1.20.2

mkdir -p "$WORK"/{debs,root,src,tools,home} "$WORK"/apt/{lists/partial,cache/archives/partial,sources} "$OUT"

step() { echo "== $*"; }

step "toolchain and etcd from Debian (unpacked, not installed)"
apt-get update -qq
(cd "$WORK/debs" && apt-get download -q golang-1.19-go golang-1.19-src etcd-server etcd-client golang-github-modern-go-reflect2-dev)
for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$WORK/root"; done

step "the kubernetes source package, through a private deb-src list made from the machine's main archive"
# The first stanza of the machine's deb822 sources is the main archive; the same stanza as deb-src finds the source.
awk 'BEGIN { RS = ""; ORS = "\n\n" } NR == 1 { sub(/Types: deb/, "Types: deb-src"); print }' \
  /etc/apt/sources.list.d/debian.sources >"$WORK/apt/sources/source.sources"
private_apt=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$WORK/apt/sources"
  -o "Dir::State::Lists=$WORK/apt/lists" -o "Dir::Cache=$WORK/apt/cache")
apt-get "${private_apt[@]}" update -qq
(cd "$WORK/src" && apt-get "${private_apt[@]}" source --download-only "kubernetes=$SOURCE_VERSION")
rm -rf "$TREE"
tar -xzf "$WORK/src/$SOURCE_TARBALL" -C "$WORK/src"

step "build fixes"
# The build copies generated files with `rsync -pc SRC DEST`: plain cp does the same job.
printf '#!/bin/sh\n# stands in for "rsync -pc SRC DEST"\nshift\nexec cp -p "$@"\n' >"$WORK/tools/rsync"
chmod +x "$WORK/tools/rsync"
# The version the binaries report (no git metadata in a source package).
cat >"$WORK/version-defs" <<'DEFS'
KUBE_GIT_VERSION='v1.20.2'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
KUBE_GIT_COMMIT='faecb196815e248d3ecfb03c680a4507229c2a56'
KUBE_GIT_TREE_STATE='clean'
DEFS
# v1.20 vendors modern-go/reflect2 1.0.1, which crashes json-iterator on Go 1.18 and later; Debian's 1.0.2 has the
# same API and the fix, so it replaces the vendored copy.
reflect2=$TREE/vendor/github.com/modern-go/reflect2
find "$reflect2" -maxdepth 1 -type f ! -name LICENSE -delete
cp "$WORK"/root/usr/share/gocode/src/github.com/modern-go/reflect2/*.go "$WORK"/root/usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$reflect2/"
rm -f "$reflect2"/*_test.go

step "compile (GOPATH mode with vendor/, offline)"
export GOROOT=$WORK/root/usr/lib/go-1.19
export PATH=$GOROOT/bin:$WORK/tools:$PATH
export HOME=$WORK/home GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 SOURCE_DATE_EPOCH=1610544000
export KUBE_GIT_VERSION_FILE=$WORK/version-defs
unset GOPATH GOCACHE GOFLAGS GO111MODULE
make -C "$TREE" WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl"

step "binaries into $OUT"
cp -p "$TREE"/_output/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl} "$OUT/"
cp -p "$WORK/root/usr/bin/etcd" "$WORK/root/usr/bin/etcdctl" "$OUT/"
"$OUT/kube-apiserver" --version
"$OUT/etcd" --version | head -1
