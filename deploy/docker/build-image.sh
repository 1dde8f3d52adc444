#!/usr/bin/env bash
# `make image`: builds deploy/docker/Dockerfile from the repository root as $IMAGE (default
# ingestor:local). With docker when a Docker daemon answers; else with podman the way these
# machines need it (docs/deploy.md, "Image"): runtime runc, cgroupfs, explicit ulimits at or below
# the hard limits, host network, no pulls (the Debian base image is made locally by
# base-image.sh when missing).
#
# Environment: IMAGE, ENGINE (docker or podman: skip the detection), BUILD_ARGS (extra flags).
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=${IMAGE:-ingestor:local}
HERE=deploy/docker

engine=${ENGINE:-}
if [[ -z "$engine" ]]; then
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker
  elif command -v podman >/dev/null; then engine=podman
  else echo "build-image: neither a Docker daemon nor podman (apt-get install podman runc debootstrap)" >&2; exit 1
  fi
fi

start=$(date +%s)
# The commit the image is built from, as a label (make image-test records it).
revision=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
BUILD_ARGS="--label org.opencontainers.image.revision=$revision ${BUILD_ARGS:-}"
# The image id, written by the engine only when the build completed (a build stopped by a signal
# can exit 0 without one).
iidfile=$(mktemp)
trap 'rm -f "$iidfile"' EXIT
if [[ "$engine" == docker ]]; then
  echo "build-image: docker build -t $IMAGE"
  DOCKER_BUILDKIT=1 docker build --iidfile "$iidfile" -f "$HERE/Dockerfile" -t "$IMAGE" \
    ${BUILD_ARGS:-} .
else
  "$HERE/base-image.sh"
  # 4096, or the hard limit when lower (podman's own defaults are higher and refused here).
  nofile=$(ulimit -Hn); nproc_=$(ulimit -Hu)
  [[ "$nofile" == unlimited || "$nofile" -gt 4096 ]] && nofile=4096
  [[ "$nproc_" == unlimited || "$nproc_" -gt 4096 ]] && nproc_=4096
  echo "build-image: podman build -t $IMAGE (runc, cgroupfs, nofile $nofile, nproc $nproc_)"
  podman --runtime runc --cgroup-manager cgroupfs build --pull=never --network host \
    --ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc_:$nproc_" \
    --ignorefile "$HERE/Dockerfile.dockerignore" --iidfile "$iidfile" \
    -f "$HERE/Dockerfile" -t "$IMAGE" ${BUILD_ARGS:-} .
fi
[[ -s "$iidfile" ]] || { echo "build-image: the build of $IMAGE did not complete" >&2; exit 1; }
echo "build-image: $IMAGE ($(cut -c1-19 "$iidfile")) built with $engine in $(( $(date +%s) - start )) s"
