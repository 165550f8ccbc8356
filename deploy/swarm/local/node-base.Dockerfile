# localhost/node:<version>-bookworm-slim: what the official Node slim image holds, from local parts:
# the Debian base debootstrap made and this host's Node, laid out like Node's own tarball in node/
# (bin/node, lib/node_modules/npm, bin/npm and bin/npx). Built by deploy/swarm/local/build.sh.
ARG BASE_IMAGE=localhost/debian:bookworm
FROM ${BASE_IMAGE}
ARG NODE_VERSION
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION=${NODE_VERSION}
COPY node/ /usr/local/
RUN node --version && npm --version
CMD ["node"]
