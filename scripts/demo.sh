#!/usr/bin/env bash
# `make demo`: build every feed of the demo catalogue (and again from its 1C CommerceML export
# and from an ERP database, checking the feeds are the same), push to the local marketplace sandbox
# twice (the second push sends nothing: nothing changed), pull the sandbox's orders (stored
# once, stock reserved, new orders acknowledged), push again (lower stock everywhere), then run
# the cron job (`omnisync sync`) and show `omnisync status`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
export OZON_API_KEY=${OZON_API_KEY:-sandbox-ozon-key} SATU_TOKEN=${SATU_TOKEN:-sandbox-satu-token}
export GOOGLE_TOKEN=${GOOGLE_TOKEN:-sandbox-google-token} KASPI_TOKEN=${KASPI_TOKEN:-sandbox-kaspi-token}
# The demo is read by a person, even when its output goes to a file or a CI log.
export OMNISYNC_LOG_FORMAT=${OMNISYNC_LOG_FORMAT:-text}

# Each demo starts afresh, as the sandbox does: no state, orders or feeds of an earlier one.
rm -rf feeds/out feeds/out-1c feeds/out-sql feeds/out-pg
"$BIN/omnisync" build --config configs/demo.yaml

same_feeds() {  # the feeds in $1 are those of feeds/out (Kaspi and Satu stamp the minute: not that)
  for feed in google.xml google_tsv.tsv kaspi.xml satu.xml local.tsv meta.csv; do
    if diff -q <(grep -v -e '<kaspi_catalog ' -e '<yml_catalog ' "feeds/out/$feed") \
               <(grep -v -e '<kaspi_catalog ' -e '<yml_catalog ' "$1/$feed") >/dev/null; then
      echo "  $1/$feed: the same as from the CSV files"
    else
      echo "  $1/$feed: DIFFERS from feeds/out/$feed" >&2; exit 1
    fi
  done
}
echo
echo "== the same catalogue read straight from 1C (CommerceML import.xml + offers.xml) =="
"$BIN/omnisync" build --config configs/demo-1c.yaml -q || true
same_feeds feeds/out-1c
echo
echo "== and from the ERP's database (SQL queries; here SQLite, PostgreSQL alike) =="
rm -rf feeds/out-sql feeds/erp.db
"$BIN/python" scripts/demo-erp-db.py sqlite:///feeds/erp.db
"$BIN/omnisync" build --config configs/demo-sql.yaml -q || true
same_feeds feeds/out-sql
echo
echo "== and from PostgreSQL (a throwaway server from Debian's package, as the tests use) =="
rm -rf feeds/out-pg
"$BIN/python" scripts/demo-postgres.py

# The push state starts afresh with the sandbox (the build above recorded its run there).
rm -f feeds/out/state.db feeds/out/state.db-wal feeds/out/state.db-shm feeds/out/sandbox.json
# The sandbox on a free port (a fixed one may be another program's on a shared machine), and
# only it: demo-sandbox.py waits for it, checks the server there is this very process
# (GET /_sandbox/identity), and writes configs/demo.yaml pointed at it as $DEMO.
"$BIN/omnisync" sandbox --port 0 --ready-file feeds/out/sandbox.json > feeds/out/sandbox.log 2>&1 &
SANDBOX=$!
trap 'kill $SANDBOX 2>/dev/null || true' EXIT
DEMO=feeds/out/demo-sandbox.yaml
URL=$("$BIN/python" scripts/demo-sandbox.py feeds/out/sandbox.json "$SANDBOX" configs/demo.yaml "$DEMO")
echo
echo "== push to the local sandbox ($URL; $DEMO is configs/demo.yaml pointed at it) =="
"$BIN/omnisync" push --config "$DEMO"
echo
echo "== push again: nothing changed, so nothing is sent =="
"$BIN/omnisync" push --config "$DEMO"
echo
echo "== pull the marketplaces' orders: stored once, stock reserved, new orders acknowledged =="
"$BIN/omnisync" orders pull --config "$DEMO" --since 2026-10-15 || true
echo
echo "== push once more: the reserved units are gone from every channel's stock =="
"$BIN/omnisync" push --config "$DEMO"
echo
echo "== the cron job: omnisync sync (orders, feeds and pushes in one locked, recorded run) =="
"$BIN/omnisync" sync --config "$DEMO" --metrics-file feeds/out/omnisync.prom || true
echo
echo "== omnisync status: what happened, per channel, and the last runs =="
"$BIN/omnisync" status --config "$DEMO"
