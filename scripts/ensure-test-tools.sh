#!/usr/bin/env bash
# What the tests need beyond Python packages: Debian's Chromium (the browser tests drive
# it through Playwright), Debian's nginx and Caddy (the forward-auth tests run each as a
# fixture with its own configuration and port, never as the system service), and PostgreSQL's
# server binaries and redis-server (the fault smoke starts a cluster and a Redis of its
# own on free ports; the system services are not touched). Install what is missing (as
# root), or say exactly what to run.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v caddy >/dev/null || missing+=(caddy)
command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
  || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
# The strict OpenID Connect relying party of tests/e2e/test_sso.py: openid-client from
# npm, pinned in tests/e2e/rp/package-lock.json. Without npm that test is skipped (it says
# why); with it, the package is installed here once.
rp="$(dirname "$0")/../tests/e2e/rp"
if command -v npm >/dev/null && [ ! -d "$rp/node_modules/openid-client" ]; then
  echo "Installing openid-client for the tests (npm ci in tests/e2e/rp)..."
  npm ci --no-audit --no-fund --prefix "$rp" >/dev/null
fi
if [ ${#missing[@]} = 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} for the tests (apt-get install ${missing[*]})..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # Only the binary is wanted: the package's own service stays stopped.
  for daemon in nginx caddy; do
    if [[ " ${missing[*]} " == *" $daemon "* ]]; then
      (service "$daemon" stop || pkill -x "$daemon" || true) >/dev/null 2>&1
    fi
  done
  exit 0
fi
echo "The tests need ${missing[*]}. Run:" >&2
echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
exit 1
