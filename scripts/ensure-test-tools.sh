#!/usr/bin/env bash
# What the tests need beyond Python packages: Debian's Chromium (the browser tests drive
# it through Playwright), Debian's nginx (the forward-auth test runs it as a fixture
# with its own configuration and port, never as the system service), and PostgreSQL's
# server binaries and redis-server (the fault smoke starts a cluster and a Redis of its
# own on free ports; the system services are not touched). Install what is missing (as
# root), or say exactly what to run.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null \
  || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} = 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} for the tests (apt-get install ${missing[*]})..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # Only the binary is wanted: the package's own service stays stopped.
  if [[ " ${missing[*]} " == *" nginx "* ]]; then
    (service nginx stop || pkill -x nginx || true) >/dev/null 2>&1
  fi
  exit 0
fi
echo "The tests need ${missing[*]}. Run:" >&2
echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
exit 1
