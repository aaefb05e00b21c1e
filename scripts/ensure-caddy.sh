#!/usr/bin/env bash
# The deployment test puts Debian's Caddy in front of the server, as the deploy/ recipe does, and
# makes a fresh Chromium profile trust Caddy's local CA with NSS's certutil; install both when
# missing. The package's own Caddy would take ports 80 and 443: the test starts one of its own
# on free ports, so the packaged service is kept from starting.
set -euo pipefail
if command -v caddy >/dev/null 2>&1 && command -v certutil >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "Caddy is missing: run 'apt-get install caddy libnss3-tools' as root" >&2
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
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy libnss3-tools >/dev/null
# Where systemd runs, the unit is still enabled for the next boot; a test machine wants neither.
if [ -d /run/systemd/system ]; then systemctl disable --now caddy >/dev/null 2>&1 || true; fi
caddy version
