#!/usr/bin/env bash
# Installs Debian packages for the project's scripts, which first check what is missing:
#   bash scripts/apt-install.sh [--no-services] <package>...
# Root is needed; without it, it says what to run instead. --no-services keeps the packages' own
# daemons from starting, now or at boot: a test starts its own on free ports, and the packaged
# ones would take the well-known ports (80, 443, 3478).
set -euo pipefail
no_services=false
if [ "${1:-}" = --no-services ]; then
  no_services=true
  shift
fi
if [ "$(id -u)" != 0 ]; then
  echo "Missing: run 'apt-get install $*' as root" >&2
  exit 1
fi
if $no_services; then
  # invoke-rc.d and deb-systemd-invoke ask policy-rc.d before starting a service (101: do not).
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
# Where systemd runs, a unit is still enabled for the next boot; a test machine wants neither.
if $no_services && [ -d /run/systemd/system ]; then
  for package in "$@"; do systemctl disable --now "$package" >/dev/null 2>&1 || true; done
fi
