#!/usr/bin/env bash
# Makes the Debian base images the Dockerfile starts FROM (debian:bookworm, debian:bookworm-slim)
# in podman's local storage when they are missing, for machines with no image registry
# (docs/deploy.md, "Without a registry"). The root file system comes from Debian's own packages
# (debootstrap --variant=minbase), is kept as a tarball in $INGESTOR_CACHE (default
# ~/.cache/ingestor) and imported from there on later runs, which then take seconds.
#
#   base-image.sh            make the images if missing
#   base-image.sh --force    make them again from the cached tarball (or a new one)
#
# Environment: PODMAN (default: podman with the flags of docs/deploy.md), DEBIAN_MIRROR.
set -euo pipefail

CACHE=${INGESTOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ingestor}
TARBALL=$CACHE/debian-bookworm-minbase.tar
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
read -r -a PODMAN <<< "${PODMAN:-podman --runtime runc --cgroup-manager cgroupfs}"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

have() { "${PODMAN[@]}" image exists "$1"; }

if (( ! FORCE )) && have docker.io/library/debian:bookworm && have docker.io/library/debian:bookworm-slim; then
  echo "base-image: debian:bookworm and debian:bookworm-slim are in local storage"
  exit 0
fi

if [[ ! -s "$TARBALL" ]]; then
  command -v debootstrap >/dev/null || { echo "base-image: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
  [[ "$(id -u)" == 0 ]] || { echo "base-image: debootstrap needs root" >&2; exit 1; }
  mkdir -p "$CACHE"
  root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  echo "base-image: debootstrap --variant=minbase bookworm (a few minutes, once)"
  debootstrap --variant=minbase bookworm "$root" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # What the official image has and a minbase lacks: an empty apt cache and no log noise.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" --numeric-owner -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$root"
  trap - EXIT
fi

echo "base-image: importing $TARBALL"
"${PODMAN[@]}" import -q --change 'CMD ["bash"]' "$TARBALL" docker.io/library/debian:bookworm >/dev/null
"${PODMAN[@]}" tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim
echo "base-image: debian:bookworm and debian:bookworm-slim are ready"
