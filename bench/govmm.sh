#!/usr/bin/env bash
# Builds the govmm columns of the QMP and launch benchmarks
# (bench/qmp_govmm.go, bench/launch_govmm.go) into BUILD_DIR/bench_qmp_govmm
# and BUILD_DIR/bench_launch_govmm, in GOPATH mode against Debian's govmm:
#
#   bench/govmm.sh BUILD_DIR            (default: build, next to bench/)
#   bench/govmm.sh --install BUILD_DIR  apt-get install golang-go and
#                                       golang-github-kata-containers-govmm-dev
#                                       first (the tests do not need them)
#
# bench/qmp.sh and bench/launch.sh then run them as a third side when they
# are there. No module, no network: GO111MODULE=off,
# GOPATH=/usr/share/gocode (where Debian's golang-*-dev packages put their
# sources), GOFLAGS=-mod= unset.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ${1:-} == --install ]]; then
  shift
  apt-get install -y golang-go golang-github-kata-containers-govmm-dev
fi
build=${1:-$(dirname "$here")/build}
[[ -d $build ]] || { echo "govmm.sh: $build is not a directory" >&2; exit 2; }
src=/usr/share/gocode/src/github.com/kata-containers/govmm/qemu
command -v go >/dev/null && [[ -d $src ]] || {
  echo "govmm.sh: needs go and govmm: apt-get install golang-go golang-github-kata-containers-govmm-dev" \
       "(or bench/govmm.sh --install)" >&2
  exit 2
}
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
out=$(cd "$build" && pwd)
for name in qmp launch; do
  (cd "$here" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$cache" GOFLAGS= \
    go build -o "$out/bench_${name}_govmm" "${name}_govmm.go")
done
echo "$out/bench_qmp_govmm $out/bench_launch_govmm ($(go version | cut -d' ' -f3), govmm from" \
  "$(dpkg-query -W -f '${Version}' golang-github-kata-containers-govmm-dev 2>/dev/null || echo '?'))"
