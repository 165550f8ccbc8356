# livekit-server for deploy/compose/local.yml: the binary scripts/setup built (.tools/bin/livekit-server,
# the pinned version, linked to glibc) on the Debian base deploy/swarm/local/build.sh makes. Entry
# point as in livekit/livekit-server, so docker-compose.yml's `command` is the same for both images.
ARG BASE=localhost/debian:bookworm
FROM ${BASE}
COPY livekit-server /livekit-server
USER nobody
EXPOSE 7880 6789
ENTRYPOINT ["/livekit-server"]
