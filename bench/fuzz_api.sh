#!/usr/bin/env bash
# Schemathesis over the whole API of a running Herald, counting requests and 5xx answers.
#
#   bench/fuzz_api.sh [SOURCE_DIR] [DATABASE_URL]
#
# SOURCE_DIR is the checkout to serve (default: this one; give an older export to compare),
# DATABASE_URL empty for SQLite. A fresh HERALD_HOME with the demo data, a token with every
# scope for the desk operations, granian on a free loopback port, then `st run` with a
# fixed seed; the HAR report holds every exchange, and the last line counts them.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
src="${1:-$here}"
export DATABASE_URL="${2:-}"
examples="${EXAMPLES:-100}"
py="$here/.venv/bin/python"
home="$(mktemp -d /tmp/herald-fuzz.XXXXXX)"
export HERALD_HOME="$home" DJANGO_SETTINGS_MODULE=herald.settings PYTHONPATH="$src"
cd "$src"
if [ -n "$DATABASE_URL" ]; then
  db="${DATABASE_URL##*/}"
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
fi
"$py" -c 'from herald.cli import main; main()' setup --demo >/dev/null
token="$("$py" - <<'PY'
import django
django.setup()
from herald.accounts.actions import do_create_token
from herald.test import make_user
user = make_user("fuzzer", role="responder")
print(do_create_token(user=user, name="fuzz", scopes=["read", "write", "publish"], days=1,
                      acting_user=user)[1])
PY
)"
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$here/.venv/bin/granian" --interface wsgi --host 127.0.0.1 --port "$port" --workers 1 \
  herald.wsgi:application >"$home/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
cd "$home"  # st keeps its cache in the working directory
"$here/.venv/bin/st" run "http://127.0.0.1:$port/api/v1/openapi.json" --wait-for-schema 30 \
  --seed 1 --generation-deterministic -n "$examples" --workers 1 \
  -H "Authorization: Bearer $token" --report har --report-dir "$home/report" \
  >"$home/st.log" 2>&1 || true
"$py" - "$home/report" <<'PY'
import json, pathlib, sys
codes = [e["response"]["status"]
         for har in pathlib.Path(sys.argv[1]).glob("har-*.json")
         for e in json.loads(har.read_text())["log"]["entries"]]
print(f"requests={len(codes)} 5xx={sum(c >= 500 for c in codes)} "
      f"statuses={sorted(set(codes))}")
PY
echo "log: $home/st.log"
