#!/bin/sh
# Install Debian's chromium for the report browser tests (tests/reports/test_browser.py).
# Idempotent and quiet: does nothing when /usr/bin/chromium exists.
set -eu
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq chromium >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq chromium >/dev/null
fi
test -x /usr/bin/chromium || { echo "install-chromium: /usr/bin/chromium still missing" >&2; exit 1; }
