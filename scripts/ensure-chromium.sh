#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright. Install it when missing
# (as root), or say exactly what to run.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium for the browser tests (apt-get install chromium)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at /usr/bin/chromium. Run:" >&2
echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2
exit 1
