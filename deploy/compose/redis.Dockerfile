# Redis for deploy/compose/local.yml: Debian's redis-server on the Debian base. Like the redis image,
# it listens on every address of its container with protected mode off (the compose network is
# the boundary; nothing publishes its port) and keeps nothing on disk.
ARG BASE=localhost/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
USER redis
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
