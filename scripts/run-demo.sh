#!/usr/bin/env bash
# `make run`: the demo installation on http://127.0.0.1:8000 with a local SMTP sink.
# Ctrl-C stops the web server, the worker and the sink together.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
[ -s var/secret_key ] || .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > var/secret_key
export SECRET_KEY="$(cat var/secret_key)"
export DEBUG=false SECURE_COOKIES=false BASE_URL=http://127.0.0.1:8000
export EMAIL_HOST=127.0.0.1 EMAIL_PORT=8025 DEV_MAILBOX_DIR="$PWD/var/mailbox"
export DATABASE_URL="${DATABASE_URL:-sqlite:///$PWD/var/loginguard.sqlite3}"
LG=.venv/bin/loginguard

$LG migrate --no-input -v0
$LG collectstatic --no-input -v0
$LG demo
trap 'trap - INT TERM EXIT; kill 0 2>/dev/null; wait 2>/dev/null' INT TERM EXIT
$LG mailsink --port 8025 &
$LG worker --interval 0.5 -v0 &
$LG serve --bind 127.0.0.1:8000 --workers 2 &
echo
echo "loginguard is running: open http://127.0.0.1:8000/   (mailbox: /dev/mailbox/)   Ctrl-C stops it."
wait
