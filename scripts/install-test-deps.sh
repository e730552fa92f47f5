#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages: a headless Chromium for the tests
# of pages people look at (store displays). Debian's package; nothing is downloaded by a test tool.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install Chromium (Debian/Ubuntu: apt-get install chromium) to run the browser tests" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
