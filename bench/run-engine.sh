#!/usr/bin/env bash
# Engine benchmark (issue 5, "Fast, within Microsoft's rules", and issue 6's restore speed):
# qcb_engine::backup of 20 mailboxes against the emulator (in the same process, on 127.0.0.1)
# with Exchange Online's per-mailbox throttling, time-scaled; a full backup into a fresh
# repository, a no-change incremental one, then a restore of every mailbox into a new folder. Writes bench/results/engine.json and regenerates
# docs/benchmarks.md (the ingest section is rendered from bench/results/ingest.json as before).
#
#   bench/run-engine.sh
#
# Environment (defaults in brackets):
#   USERS [20]  MESSAGES [1500] per mailbox  CATEGORIES [mail] (or all)
#   SCALE [1]         time runs SCALE times faster than Exchange's windows
#   WINDOW_DIV [60]   the 10,000-per-600-s window shortened this many times, budget with it
#                     (the 150-MB-per-300-s upload window too, but to no less than 8 MiB)
#                     (same long-run rate), so a run of a minute or two spans several windows
#   PAGE_SIZE [50]  MAILBOX_CONCURRENCY [20]
#   BENCH_DIR   scratch space (default ~/.cache/qcbackup-bench; never in git)
#   RESULTS, DOC  output paths (default bench/results/engine.json, docs/benchmarks.md)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/qcbackup-bench}
RESULTS=${RESULTS:-$ROOT/bench/results/engine.json}
DOC=${DOC:-$ROOT/docs/benchmarks.md}

echo "== building qcb-bench-engine (release)" >&2
(cd "$ROOT" && cargo build --release -p qcb-bench-engine)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$BENCH_DIR/bin"
# A private copy: other builds in a shared target folder cannot swap it mid-run.
cp "$TARGET/release/qcb-bench-engine" "$BENCH_DIR/bin/qcb-bench-engine"

echo "== running (load average before: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$BENCH_DIR/bin/qcb-bench-engine" \
    --out "$RESULTS" --work "$BENCH_DIR/engine" \
    --users "${USERS:-20}" --messages "${MESSAGES:-1500}" --categories "${CATEGORIES:-mail}" \
    --scale "${SCALE:-1}" --window-div "${WINDOW_DIV:-60}" \
    --page-size "${PAGE_SIZE:-50}" --mailbox-concurrency "${MAILBOX_CONCURRENCY:-20}"

commit=${QCB_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)}
git -C "$ROOT" status --porcelain --untracked-files=no > "$BENCH_DIR/engine-dirty.txt" 2>/dev/null || true
dirty=$(wc -l < "$BENCH_DIR/engine-dirty.txt")
python3 "$ROOT/bench/report.py" engine-meta --results "$RESULTS" --commit "$commit" \
    --dirty "$dirty" --dirty-files "$BENCH_DIR/engine-dirty.txt" --profile release
python3 "$ROOT/bench/report.py" render --results "$ROOT/bench/results/ingest.json" \
    --engine "$RESULTS" --out "$DOC"
echo "== wrote $RESULTS and $DOC" >&2
