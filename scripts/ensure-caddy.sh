#!/usr/bin/env bash
# The deployment test puts Debian's Caddy in front of the server, as the deploy/ recipe does, and
# makes a fresh Chromium profile trust Caddy's local CA with NSS's certutil; install both when
# missing, without the packaged service (the test starts a Caddy of its own on free ports).
set -euo pipefail
if command -v caddy >/dev/null 2>&1 && command -v certutil >/dev/null 2>&1; then exit 0; fi
bash "$(dirname "$0")/apt-install.sh" --no-services caddy libnss3-tools
caddy version
