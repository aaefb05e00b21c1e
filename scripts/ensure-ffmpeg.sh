#!/usr/bin/env bash
# Recording tests read what the server writes with readers we did not write: ffprobe and ffmpeg,
# from Debian's ffmpeg package, installed here when missing (as Chromium is for browser tests).
set -euo pipefail
if command -v ffprobe >/dev/null 2>&1 && command -v ffmpeg >/dev/null 2>&1; then exit 0; fi
bash "$(dirname "$0")/apt-install.sh" ffmpeg
ffprobe -version | head -1
