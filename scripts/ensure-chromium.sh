#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it from Debian's packages when it is missing.
# (Test tools' own browser downloads cannot work on a closed network, so none is used.)
set -euo pipefail
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'color emoji'; then exit 0; fi
# Without root only Chromium itself is required; the emoji font is a nicety.
if [ "$(id -u)" != 0 ] && [ -x /usr/bin/chromium ]; then exit 0; fi
# The emoji font lets screenshots show reactions as a person's browser would.
bash "$(dirname "$0")/apt-install.sh" chromium fonts-noto-color-emoji
/usr/bin/chromium --version
