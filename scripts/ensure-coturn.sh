#!/usr/bin/env bash
# The deployment test relays a viewer through Debian's coturn, as the deploy/ recipe does;
# install it when missing. The package's own turnserver would take port 3478: the test starts
# one of its own on free ports, so the packaged service is kept from starting.
set -euo pipefail
if command -v turnserver >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "coturn is missing: run 'apt-get install coturn' as root" >&2
  exit 1
fi
# invoke-rc.d and deb-systemd-invoke ask policy-rc.d before starting a service (101: do not).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coturn >/dev/null
# Where systemd runs, the unit is still enabled for the next boot; a test machine wants neither.
if [ -d /run/systemd/system ]; then systemctl disable --now coturn >/dev/null 2>&1 || true; fi
command -v turnserver
