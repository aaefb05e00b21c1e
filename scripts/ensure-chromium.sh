#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it from Debian's packages when it is missing.
# (Test tools' own browser downloads cannot work on a closed network, so none is used.)
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'color emoji'; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  # Without root only Chromium itself is required; the emoji font is a nicety.
  if [ -x /usr/bin/chromium ]; then exit 0; fi
  echo "Chromium is missing: run 'apt-get install chromium' as root" >&2
  exit 1
fi
apt-get update -qq
# The emoji font lets screenshots show reactions as a person's browser would.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null
/usr/bin/chromium --version
