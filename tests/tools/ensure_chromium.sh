#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests (Playwright drives
# it with executable_path and never downloads a browser of its own). As root it is
# installed with apt-get when missing; otherwise say what to install and fail.
set -euo pipefail

CHROMIUM=${SHOPRELAY_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "Chromium is not installed; installing it with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] || { echo "apt-get installed chromium, but $CHROMIUM is missing" >&2; exit 1; }
else
  echo "Chromium is not installed (needed by the browser tests): sudo apt-get install chromium" >&2
  exit 1
fi
