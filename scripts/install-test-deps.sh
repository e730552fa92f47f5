#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages, from Debian's packages (nothing is
# downloaded by a test tool): a headless Chromium for the tests of pages people look at (store
# displays), and PostgreSQL for the SQL source's tests (each run starts its own throwaway server).
set -euo pipefail

missing=()
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  missing+=(chromium)
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install ${missing[*]} (Debian/Ubuntu: apt-get install ${missing[*]}) to run the tests" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# postgresql's package would start a cluster of its own; the tests never use it.
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
command -v chromium >/dev/null || command -v chromium-browser >/dev/null
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
