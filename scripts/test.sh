#!/usr/bin/env bash
# Runs every test stage in order and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export CARGO_TERM_COLOR=never NO_COLOR=1 FORCE_COLOR=0
# Every cargo command below selects the same packages and features, so each crate is
# compiled once for clippy and once for the tests, the desktop app and its WebDriver suite.
# `qcbackup-desktop/ts` (with `qcb-engine/ts`) adds the tests that the UI's generated TypeScript
# types match the Rust DTOs of the engine and of the shell.
ALL=(--workspace --features qcbackup-desktop/custom-protocol,qcbackup-desktop/ts)
# SeaweedFS's `weed` (the S3 server the S3 tests start) from the venv scripts/bootstrap.sh makes.
weed_venv=${XDG_CACHE_HOME:-$HOME/.cache}/qcbackup/seaweedfs-venv
if [ -x "$weed_venv/bin/weed" ]; then export PATH="$weed_venv/bin:$PATH"; fi
passed=0; failed=0
log=$(mktemp)

finish() {
  echo
  echo "tests: $passed passed, $failed failed"
  echo "$passed passed, $failed failed"
  rm -f "$log"
}
trap finish EXIT

stage() { echo; echo "=== $*"; }
die() { echo "FAILED: $*" >&2; failed=$((failed + ${2:-1})); exit 1; }

# Counts from a nextest run: "N tests run: A passed, F failed, S skipped".
count_nextest() {
  local line; line=$(grep -E '[0-9]+ tests? run:' "$log" | tail -1)
  local p f
  p=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$line"); f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
}

stage "UI: dependencies, type check, unit and component tests, build"
(cd ui && npm run check) || die "svelte-check"
(cd ui && npm test 2>&1) | tee "$log"; st=${PIPESTATUS[0]}
p=$(grep -E '^\s+Tests\s' "$log" | sed -nE 's/.* ([0-9]+) passed.*/\1/p'); f=$(grep -E '^\s+Tests\s' "$log" | sed -nE 's/.* ([0-9]+) failed.*/\1/p')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
[ "$st" = 0 ] || die "vitest" 0
(cd ui && npm run build) || die "vite build"

stage "UI: every flow in headless Chromium against the mock build, with axe-core scans"
# Builds ui/dist-mock (never ui/dist, which the desktop app embeds) and checks that ui/dist holds no mock.
(cd ui && npm run test:browser 2>&1) | tee "$log"; st=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
p=$(sed -nE 's/^([0-9]+) passed.*/\1/p' <<<"$line"); f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
[ "$st" = 0 ] || die "browser tests" "$([ -n "$line" ] && echo 0 || echo 1)"

stage "Rust: formatting and clippy (warnings are errors)"
cargo fmt --all --check || die "cargo fmt --check (run cargo fmt --all)"
cargo clippy "${ALL[@]}" --all-targets -- -D warnings || die "clippy"

stage "Rust: engine, emulator, repository and CLI tests"
cargo nextest run "${ALL[@]}" --no-fail-fast -E 'not package(qcb-e2e)' 2>&1 | tee "$log"; st=${PIPESTATUS[0]}
count_nextest
[ "$st" = 0 ] || die "nextest" 0
cargo test "${ALL[@]}" --doc 2>&1 | tee "$log"; st=${PIPESTATUS[0]}
for n in $(grep -E '^test result:' "$log" | sed -nE 's/.*ok\. ([0-9]+) passed.*/\1/p'); do passed=$((passed + n)); done
[ "$st" = 0 ] || die "doctests"

stage "Fuzzing: every target for ${FUZZ_SECONDS:-20} s from its kept corpus (the long run: scripts/fuzz.sh)"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh 2>&1 | tee "$log"; st=${PIPESTATUS[0]}
# libFuzzer ends a clean run with "Done N runs in S second(s)".
passed=$((passed + $(grep -c '^Done [0-9]* runs' "$log")))
[ "$st" = 0 ] || die "fuzzing (the input that failed is in fuzz/artifacts/)"

stage "Desktop: build the app and drive the real window under Xvfb over WebDriver"
cargo build "${ALL[@]}" --all-targets || die "desktop build"
QCB_E2E_APP="$CARGO_TARGET_DIR/debug/qcbackup-desktop" QCB_E2E_SCREENSHOTS="${QCB_E2E_SCREENSHOTS:-$CARGO_TARGET_DIR/e2e-screenshots}" \
  xvfb-run -a -s "-screen 0 1280x800x24" cargo nextest run "${ALL[@]}" --no-fail-fast -E 'package(qcb-e2e)' 2>&1 | tee "$log"; st=${PIPESTATUS[0]}
count_nextest
[ "$st" = 0 ] || die "desktop end-to-end" 0

stage "Load: the load harness on a small tenant (the long run, 100 x 10,000: bench/run-load.sh)"
# The binaries the desktop stage built: the CLI and the harness that drives it.
PROFILE=debug USERS=4 ITEMS=300 MAILBOX_CONCURRENCY=4 BENCH_DIR="$CARGO_TARGET_DIR/tmp/load" \
  RESULTS="$CARGO_TARGET_DIR/tmp/load/load.json" bench/run-load.sh || die "load harness"
passed=$((passed + 1))

stage "Desktop: the .deb bundle (binary, desktop entry, icons, dependencies)"
scripts/check-deb.sh || die "deb bundle"
