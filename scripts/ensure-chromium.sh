#!/usr/bin/env bash
# Makes sure Debian's headless Chromium is installed for the status-page browser test
# (test/status-page.test.ts runs this in its setup; CI machines start without it).
# Prints the browser's path on success. Exits 1 with the reason when it cannot be installed.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  echo "$browser"
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "chromium is missing and this machine has no apt-get: install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing and installing it needs root: run 'sudo apt-get install -y chromium' (or set CHROMIUM_PATH)" >&2
  exit 1
fi
echo "installing chromium with apt-get (once per machine)…" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q chromium >/tmp/ensure-chromium.log 2>&1; then
  apt-get update -q >>/tmp/ensure-chromium.log 2>&1 || true
  if ! apt-get install -y -q chromium >>/tmp/ensure-chromium.log 2>&1; then
    echo "apt-get could not install chromium; its last lines:" >&2
    tail -5 /tmp/ensure-chromium.log >&2
    exit 1
  fi
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "apt-get installed chromium but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo /usr/bin/chromium
