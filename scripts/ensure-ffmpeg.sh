#!/usr/bin/env bash
# Recording tests read what the server writes with readers we did not write: ffprobe and ffmpeg,
# from Debian's ffmpeg package, installed here when missing (as Chromium is for browser tests).
set -euo pipefail
if command -v ffprobe >/dev/null 2>&1 && command -v ffmpeg >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ffmpeg is missing: run 'apt-get install ffmpeg' as root" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
ffprobe -version | head -1
