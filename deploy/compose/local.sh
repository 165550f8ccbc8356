#!/usr/bin/env bash
# The compose stack (docker-compose.yml) on a host that reaches no container registry: every image
# built here, then started by Debian's docker-compose on a Docker engine of its own.
#
#   sudo bash deploy/compose/local.sh up       build what is missing, load it, start the stack
#   sudo bash deploy/compose/local.sh status   the engine and the stack's containers
#   sudo bash deploy/compose/local.sh down     stop and remove the stack, then the engine
#   sudo bash deploy/compose/local.sh down --purge   also delete the engine's images (about 1.4 GB)
#
# Images: the swarm (deploy/swarm/local/build.sh, which also makes the Debian base), livekit-server
# as scripts/setup built it, Redis from Debian, this host's Debian Prometheus (2.42; prom/prometheus
# is 2.55). deploy/compose/local.yml swaps them in and leaves Grafana out: no image of it can be
# made here. Ports are published on 127.0.0.1 (LKSWARM_PUBLISH=0.0.0.0 for every address).
#
# The engine: with DOCKER_HOST set, that one, left running. Otherwise a dockerd of this script's own
# (socket /run/lkswarm-docker/docker.sock, state in /var/lib/lkswarm-docker) that touches neither
# iptables nor a default docker0 bridge, and whose networks come from 10.204.0.0/16; `down` stops it
# and checks that none of its processes is left. Needs root, docker.io, docker-compose, buildah and
# debootstrap (`bash scripts/setup --kubernetes` installs them all). docs/compose.md has the rest.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PROJECT=livekit-swarm
RUN_DIR=/run/lkswarm-docker
DATA_DIR=/var/lib/lkswarm-docker
SOCKET=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/dockerd.pid
LOG=$DATA_DIR/dockerd.log
IMAGES=(localhost/lkswarm-redis:bookworm localhost/lkswarm-livekit-server:local localhost/lkswarm-prometheus:local
  localhost/livekit-swarm:local)

say() { printf 'compose: %s\n' "$*" >&2; }
fail() { printf 'compose: %s\n' "$*" >&2; exit "${2:-1}"; }
usage="usage: local.sh up | status | down [--purge]"

cmd=${1:-}
shift || true
PURGE=0
for arg in "$@"; do
  case "$cmd $arg" in
    "down --purge") PURGE=1 ;;
    *) fail "unknown argument $arg ($usage)" 2 ;;
  esac
done
case "$cmd" in up | status | down) ;; *) fail "$usage" 2 ;; esac
[ "$(id -u)" = 0 ] || fail "the stack needs root (a Docker engine, buildah's store): run with sudo"
for c in dockerd docker-compose; do
  command -v "$c" >/dev/null 2>&1 || fail "$c not found: run \`bash scripts/setup --kubernetes\` or \`apt-get install docker.io docker-compose\`"
done
# Debian's docker client (docker.io); another docker earlier on PATH may be a different release
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker) || fail "docker not found: apt-get install docker.io"

OWN_ENGINE=0
if [ -z "${DOCKER_HOST:-}" ]; then
  OWN_ENGINE=1
  export DOCKER_HOST=unix://$SOCKET
fi
compose() { (cd "$ROOT" && docker-compose -p "$PROJECT" -f docker-compose.yml -f deploy/compose/local.yml "$@"); }
engine_pid() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && cat "$PIDFILE"; }
# the processes of this script's engine: dockerd, its containerd and the containers' shims
engine_processes() { pgrep -f -- "$RUN_DIR" || true; }

start_engine() {
  [ "$OWN_ENGINE" = 1 ] || { "$DOCKER" info >/dev/null 2>&1 || fail "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST"; return; }
  if ! engine_pid >/dev/null; then
    mkdir -p "$RUN_DIR" "$DATA_DIR"
    say "starting a Docker engine of its own (socket $SOCKET, log $LOG)"
    # --iptables=false: no NAT or FORWARD policy on the host; the stack's containers talk over their
    # bridge and the host reaches published ports through docker-proxy
    setsid dockerd --data-root "$DATA_DIR" --exec-root "$RUN_DIR" --pidfile "$PIDFILE" -H "unix://$SOCKET" \
      --iptables=false --ip-masq=false --bridge=none --default-address-pool base=10.204.0.0/16,size=24 \
      </dev/null >>"$LOG" 2>&1 &
  fi
  for _ in $(seq 1 60); do
    "$DOCKER" info >/dev/null 2>&1 && return
    sleep 0.5
  done
  fail "the Docker engine did not answer within 30 s: see $LOG"
}

stop_engine() {
  local pid
  pid=$(engine_pid) || true
  if [ -n "$pid" ]; then
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && fail "dockerd ($pid) still runs 30 s after SIGTERM: see $LOG"
  fi
  local left
  left=$(engine_processes)
  if [ -n "$left" ]; then
    say "left by the engine, killed: $(echo "$left" | tr '\n' ' ')"
    kill -9 $left 2>/dev/null || true
  fi
  rm -rf "$RUN_DIR"
}

build_images() {
  command -v buildah >/dev/null 2>&1 || fail "buildah not found: run \`bash scripts/setup --kubernetes\`"
  [ -x "$ROOT/.tools/bin/livekit-server" ] || fail "$ROOT/.tools/bin/livekit-server not found: run \`npm run setup\` first"
  local prom
  prom=$(command -v prometheus) || fail "prometheus not found: run \`npm run setup\` (it installs Debian's)"
  buildah inspect --type image localhost/livekit-swarm:local >/dev/null 2>&1 ||
    bash "$ROOT/deploy/swarm/local/build.sh" -t localhost/livekit-swarm:local
  local ctx
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' RETURN
  if ! buildah inspect --type image localhost/lkswarm-livekit-server:local >/dev/null 2>&1; then
    mkdir "$ctx/lk" && cp "$ROOT/.tools/bin/livekit-server" "$ctx/lk/"
    buildah build --quiet --isolation chroot -f "$ROOT/deploy/compose/livekit-server.Dockerfile" \
      -t localhost/lkswarm-livekit-server:local "$ctx/lk" >/dev/null
    say "built localhost/lkswarm-livekit-server:local ($("$ROOT/.tools/bin/livekit-server" --version 2>&1 | head -1))"
  fi
  if ! buildah inspect --type image localhost/lkswarm-prometheus:local >/dev/null 2>&1; then
    mkdir "$ctx/prom" && cp "$prom" "$ctx/prom/prometheus"
    buildah build --quiet --isolation chroot -f "$ROOT/deploy/compose/prometheus.Dockerfile" \
      -t localhost/lkswarm-prometheus:local "$ctx/prom" >/dev/null
    say "built localhost/lkswarm-prometheus:local from $prom"
  fi
  if ! buildah inspect --type image localhost/lkswarm-redis:bookworm >/dev/null 2>&1; then
    mkdir -p "$ctx/empty"
    buildah build --quiet --isolation chroot -f "$ROOT/deploy/compose/redis.Dockerfile" \
      -t localhost/lkswarm-redis:bookworm "$ctx/empty" >/dev/null
    say "built localhost/lkswarm-redis:bookworm (Debian's redis-server)"
  fi
}

# copies each image from buildah's store into the engine unless the engine has that very image
load_images() {
  local img id tar
  tar=$(mktemp -u --suffix .tar)
  for img in "${IMAGES[@]}"; do
    id=$(buildah inspect --type image --format '{{.FromImageID}}' "$img")
    [ "$("$DOCKER" image inspect --format '{{.Id}}' "$img" 2>/dev/null)" = "sha256:$id" ] && continue
    buildah push --quiet "$img" "docker-archive:$tar:$img"
    "$DOCKER" load --quiet --input "$tar" >/dev/null
    rm -f "$tar"
    say "loaded $img into the engine"
  done
}

case "$cmd" in
  up)
    build_images
    start_engine
    load_images
    compose up --detach --no-build --remove-orphans
    say "up: Prometheus http://${LKSWARM_PUBLISH:-127.0.0.1}:9090, LiveKit ws://${LKSWARM_PUBLISH:-127.0.0.1}:7880 and :7881 (key lkswarm-dev); no Grafana (docs/compose.md)"
    ;;
  status)
    if [ "$OWN_ENGINE" = 1 ] && ! engine_pid >/dev/null; then
      say "no engine of this script's runs"
      exit 0
    fi
    compose ps
    ;;
  down)
    if [ "$OWN_ENGINE" = 0 ] || engine_pid >/dev/null; then
      compose --profile grafana down --volumes --remove-orphans --timeout 10
    fi
    if [ "$OWN_ENGINE" = 1 ]; then
      stop_engine
      if [ "$PURGE" = 1 ]; then
        rm -rf "$DATA_DIR"
        say "deleted $DATA_DIR (the engine's images)"
      fi
    fi
    say "down: nothing of the stack runs"
    ;;
esac
