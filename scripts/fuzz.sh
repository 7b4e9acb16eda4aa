#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (all, or those named) for FUZZ_SECONDS each (default
# 600, the long run; `make test` uses 20). Each target starts from, and adds to, its kept
# corpus in fuzz/corpus/<target>; a crash stops the script and leaves the input in
# fuzz/artifacts/<target>/. Stable Rust has no sanitizers, so the targets run without one
# (`-s none`); libFuzzer still catches panics, aborts, timeouts and memory blow-ups.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-600}
target_dir=${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}
target_dir=${target_dir:-$PWD/target}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  cargo fuzz run -s none --target-dir "$target_dir" "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -max_len=262144 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1
done
