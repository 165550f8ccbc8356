#!/usr/bin/env bash
# Builds the swarm image with no container registry: a Debian bookworm base made with debootstrap
# from Debian's packages, a Node base from this host's Node 20, then deploy/swarm/Dockerfile.local
# with buildah (the package packed from this checkout, livekit-server as scripts/setup built it).
# The two bases stay in buildah's store and are reused (REBUILD_BASES=1 makes them again).
#
#   sudo bash deploy/swarm/local/build.sh [-t TAG] [-o IMAGE.oci.tar]
#
# -o writes an OCI archive that `ctr images import` (containerd, a cluster testbed) and
# `podman load` take. Needs root, buildah and debootstrap (`bash scripts/setup --kubernetes`
# installs both), Node 20.19+ at /usr/bin/node with npm, and .tools/bin/livekit-server.
# docs/image.md says what each stage does and how long it takes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
TAG=localhost/livekit-swarm:local
OUT=
while [ $# -gt 0 ]; do
  case "$1" in
    -t) TAG=${2:?-t needs an image name}; shift 2 ;;
    -o) OUT=${2:?-o needs a file}; shift 2 ;;
    *) echo "build.sh: unknown argument $1 (usage: build.sh [-t TAG] [-o IMAGE.oci.tar])" >&2; exit 2 ;;
  esac
done

say() { printf 'image: %s\n' "$*" >&2; }
fail() { printf 'image: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "building images needs root (buildah's store, debootstrap's chroot): run with sudo"
for cmd in buildah debootstrap; do
  command -v "$cmd" >/dev/null 2>&1 || fail "$cmd not found: run \`bash scripts/setup --kubernetes\` or \`apt-get install $cmd\`"
done
[ -x "$ROOT/.tools/bin/livekit-server" ] || fail "$ROOT/.tools/bin/livekit-server not found: run \`npm run setup\` first"
NODE=$(command -v node) || fail "node not found"
node_version=$("$NODE" -p process.versions.node)
NPM_DIR=$(dirname "$(readlink -f "$(command -v npm)")")/..
[ -f "$NPM_DIR/package.json" ] || fail "npm's folder not found next to $(command -v npm)"

# the Debian mirror this host's apt uses, so the base installs from where the host does
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
MIRROR=${MIRROR:-${mirror:-http://deb.debian.org/debian}}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
have() { [ "${REBUILD_BASES:-0}" = 0 ] && buildah inspect --type image "$1" >/dev/null 2>&1; }
timed() { local s; s=$(date +%s); "$@"; say "$1 ${2:-}: $(( $(date +%s) - s )) s"; }

DEBIAN=localhost/debian:bookworm
if ! have "$DEBIAN"; then
  say "making $DEBIAN with debootstrap from $MIRROR"
  timed bash "$ROOT/deploy/swarm/local/debian-rootfs.sh" "$WORK/rootfs" "$MIRROR"
  c=$(buildah from scratch)
  mnt=$(buildah mount "$c")
  tar -C "$WORK/rootfs" --numeric-owner --xattrs -cf - . | tar -C "$mnt" --numeric-owner --xattrs -xpf -
  buildah umount "$c" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd '["bash"]' \
    --os linux --arch amd64 --created-by "debootstrap --variant=minbase bookworm" "$c"
  buildah commit --rm --quiet --format oci "$c" "$DEBIAN" >/dev/null
  rm -rf "$WORK/rootfs"
fi

NODE_IMAGE=localhost/node:$node_version-bookworm-slim
if ! have "$NODE_IMAGE"; then
  say "making $NODE_IMAGE from this host's Node $node_version"
  # laid out like the official tarball: bin/node, lib/node_modules/npm, bin/npm and bin/npx
  mkdir -p "$WORK/node-base/node/bin" "$WORK/node-base/node/lib/node_modules"
  cp "$NODE" "$WORK/node-base/node/bin/node"
  cp -a "$(readlink -f "$NPM_DIR")" "$WORK/node-base/node/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$WORK/node-base/node/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$WORK/node-base/node/bin/npx"
  cp "$ROOT/deploy/swarm/local/node-base.Dockerfile" "$WORK/node-base/Dockerfile"
  timed buildah build --quiet --isolation chroot --layers --force-rm --build-arg "NODE_VERSION=$node_version" \
    -t "$NODE_IMAGE" "$WORK/node-base" >/dev/null
fi

# npm in the build verifies the registry with this host's CA bundle (a proxy that re-signs TLS, as
# some CI networks have, is trusted here as it is on the host); the bundle is mounted, not copied in
printf 'cafile=/run/host-ca.pem\nfund=false\naudit=false\nupdate-notifier=false\n' >"$WORK/npmrc"
say "building $TAG from $ROOT"
cd "$ROOT"
timed buildah build --quiet --isolation chroot --layers --force-rm \
  -f deploy/swarm/Dockerfile.local --ignorefile deploy/swarm/Dockerfile.local.dockerignore \
  --build-arg "NODE_IMAGE=$NODE_IMAGE" \
  --volume /etc/ssl/certs/ca-certificates.crt:/run/host-ca.pem:ro --volume "$WORK/npmrc:/usr/local/etc/npmrc:ro" \
  -t "$TAG" . >/dev/null
c=$(buildah from --quiet "$TAG")
version=$(buildah run --isolation chroot "$c" -- swarm --version)
buildah rm "$c" >/dev/null
say "$TAG runs: swarm --version says $version"
# the package stage and replaced tags: hundreds of MB a build, of no use once the image exists
buildah rmi --prune >/dev/null 2>&1 || true
if [ -n "$OUT" ]; then
  rm -f "$OUT"
  timed buildah push --quiet "$TAG" "oci-archive:$OUT:$TAG"
  say "wrote $OUT ($(du -h "$OUT" | cut -f1)): ctr images import $OUT, or podman load -i $OUT"
fi
