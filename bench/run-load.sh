#!/usr/bin/env bash
# The load run of issue 8 (docs/reliability.md): an organisation's backup with the real
# `qcbackup` CLI against the emulator under Exchange Online's real throttling (10,000 requests
# per 10 minutes and 4 in flight per mailbox), the CLI's memory, threads and open files sampled
# every second; then the snapshot compared item by item with the emulator, a no-change backup,
# and `check --read-data`. Writes bench/results/load.json; exits non-zero when anything is lost.
#
#   bench/run-load.sh
#
# Environment (defaults in brackets):
#   USERS [100]  ITEMS [10000] messages per mailbox (plus its contacts, events and tasks)
#   MAILBOX_CONCURRENCY [32]   mailboxes backed up at once (`qcbackup backup --mailbox-concurrency`)
#   CHECK [read-data]          or `structure` (no pack read back)
#   BENCH_DIR   scratch space (default ~/.cache/qcbackup-bench; about 30 GB for the default run)
#   RESULTS     output (default bench/results/load.json)
#   PROFILE [release]          `debug` runs the binaries of a debug build instead (scripts/test.sh)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/qcbackup-bench}
RESULTS=${RESULTS:-$ROOT/bench/results/load.json}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${PROFILE:-release}

if [ "$PROFILE" = release ]; then
    echo "== building qcbackup and qcb-bench-load (release)" >&2
    (cd "$ROOT" && cargo build --release -p qcb-cli -p qcb-bench-engine --bins)
fi
mkdir -p "$BENCH_DIR/bin"
# Private copies: other builds in a shared target folder cannot swap them mid-run.
cp "$TARGET/$PROFILE/qcbackup" "$TARGET/$PROFILE/qcb-bench-load" "$BENCH_DIR/bin/"

echo "== running (load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(df -h --output=avail "$BENCH_DIR" | tail -1 | tr -d ' ') free)" >&2
"$BENCH_DIR/bin/qcb-bench-load" --qcbackup "$BENCH_DIR/bin/qcbackup" \
    --out "$RESULTS" --work "$BENCH_DIR/load" \
    --users "${USERS:-100}" --items "${ITEMS:-10000}" \
    --mailbox-concurrency "${MAILBOX_CONCURRENCY:-32}" --check "${CHECK:-read-data}"
echo "== wrote $RESULTS" >&2
