# Prometheus for deploy/compose/local.yml: this host's Debian prometheus (the one scripts/setup
# installs; Go, linked to glibc only) on the Debian base. Entry point and user as in prom/prometheus,
# so docker-compose.yml's `command` is the same for both images; the data folder is Debian's build
# default (/var/lib/prometheus/metrics2), which the command does not set.
ARG BASE=localhost/debian:bookworm
FROM ${BASE}
COPY prometheus /bin/prometheus
RUN mkdir -p /var/lib/prometheus/metrics2 && chown -R nobody:nogroup /var/lib/prometheus
USER nobody
WORKDIR /var/lib/prometheus
EXPOSE 9090
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml"]
