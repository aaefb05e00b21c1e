#!/usr/bin/env bash
# The deployment test relays a viewer through Debian's coturn, as the deploy/ recipe does;
# install it when missing, without the packaged service (the test starts a turnserver of its own
# on free ports).
set -euo pipefail
if command -v turnserver >/dev/null 2>&1; then exit 0; fi
bash "$(dirname "$0")/apt-install.sh" --no-services coturn
command -v turnserver
