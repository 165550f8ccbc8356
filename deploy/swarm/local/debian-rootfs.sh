#!/usr/bin/env bash
# A Debian bookworm root filesystem from Debian's packages (debootstrap --variant=minbase), trimmed
# the way Debian's own slim images are: no apt lists or caches, no docs, man pages or locales
# installed later, services never started at install.
#   debian-rootfs.sh DIR MIRROR
set -euo pipefail
R=${1:?a folder}
MIRROR=${2:?a Debian mirror URL}
debootstrap --variant=minbase bookworm "$R" "$MIRROR" >/dev/null
chroot "$R" apt-get clean
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/etc/apt/sources.list
rm -rf "$R"/var/log/apt/* "$R"/var/log/dpkg.log "$R"/var/log/bootstrap.log "$R"/var/log/alternatives.log
cat >"$R"/etc/apt/sources.list.d/debian.sources <<X
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
printf '#!/bin/sh\nexit 101\n' >"$R"/usr/sbin/policy-rc.d
chmod 755 "$R"/usr/sbin/policy-rc.d
cat >"$R"/etc/dpkg/dpkg.cfg.d/excludes <<'X'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
X
cat >"$R"/etc/apt/apt.conf.d/clean <<'X'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
X
echo 'Acquire::Languages "none";' >"$R"/etc/apt/apt.conf.d/no-languages
: >"$R"/etc/hostname
