#!/usr/bin/env bash
# The Dockerfile's build stage, as a script that also runs outside Docker (tests/test_deploy.py runs
# it on the developer's machine against the existing build directory).
#
#   build-stage.sh [--dry-run] deps              Debian packages of the build (`make deps-build-deb`)
#   build-stage.sh [--dry-run] build OUT_DIR     build `ingestor` and put in OUT_DIR:
#                                                  ingestor               the binary (debug info stripped)
#                                                  runtime-packages.txt   the Debian packages of the
#                                                                         shared libraries it loads
#
# Environment: BUILD_DIR (default build-docker; a configured build directory is reused),
# BUILD_TYPE (default Release), JOBS (default nproc). Run from the repository root.
# --dry-run prints every command instead of running it and fails if one of them is not installed
# (for `deps` on a machine that lacks make, apt-get must be there instead).
set -euo pipefail

DRY_RUN=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; shift; fi
BUILD_DIR=${BUILD_DIR:-build-docker}
BUILD_TYPE=${BUILD_TYPE:-Release}
JOBS=${JOBS:-$(nproc)}
missing=0

# run CMD ARGS...: runs it, or in dry-run mode prints it and checks that CMD exists.
run() {
  if (( DRY_RUN )); then
    if command -v "$1" >/dev/null 2>&1; then echo "+ $*"; else echo "MISSING $1: + $*"; missing=1; fi
  else
    echo "+ $*" >&2
    "$@"
  fi
}

as_root() { if [[ "$(id -u)" == 0 ]]; then run "$@"; else run sudo "$@"; fi; }

cmd_deps() {
  if ! command -v make >/dev/null 2>&1; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make
  fi
  run make deps-build-deb
}

# The Debian packages that own the shared libraries BINARY loads (libc6 and friends included; the
# runtime image installs this list and nothing else).
runtime_packages() {
  local binary=$1 lib real
  if ! ldd "$binary" >/dev/null 2>&1; then return 0; fi  # statically linked: loads nothing
  ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    while read -r lib; do
      real=$(readlink -f "$lib")
      dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null ||
        { echo "build-stage: no Debian package owns $lib" >&2; return 1; }
    done | cut -d: -f1 | sort -u
}

cmd_build() {
  local out=${1:?build needs OUT_DIR}
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    run cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE"
  fi
  run cmake --build "$BUILD_DIR" -j "$JOBS" --target ingestor
  run mkdir -p "$out"
  run install -m 0755 "$BUILD_DIR/ingestor" "$out/ingestor"
  run strip --strip-debug "$out/ingestor"
  if (( DRY_RUN )); then
    echo "+ $out/ingestor --version"
    for c in ldd awk dpkg readlink sort cut; do run "$c" >/dev/null; done
  else
    "$out/ingestor" --version
    runtime_packages "$out/ingestor" > "$out/runtime-packages.txt"
    echo "runtime packages: $(tr '\n' ' ' < "$out/runtime-packages.txt")" >&2
  fi
}

case "${1:-}" in
  deps) cmd_deps ;;
  build) shift; cmd_build "$@" ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
if (( missing )); then echo "build-stage: some commands are missing (see MISSING above)" >&2; exit 1; fi
