#!/usr/bin/env bash
# Repository ingest benchmark: qcb-repo (through bench/ingest, `qcb-bench`) against restic and
# borg on the same generated mail corpus, in one run on this machine. Writes
# bench/results/ingest.json and regenerates docs/benchmarks.md from it.
#
#   bench/run-ingest.sh                 # 20,000 + 2,000 messages, 3 repetitions, warm cache
#
# Environment:
#   BENCH_DIR   where corpora and repositories go (default ~/.cache/qcbackup-bench; never in git)
#   MESSAGES    big corpus (default 20000)     SMALL   small corpus (default 2000)
#   REPS        repetitions of the first ingest and of the no-change run (default 3)
#   CACHE       warm (default: corpus read once before each run) or cold (drop_caches, root)
#   PROFILE     1 (default) to record a perf profile of one extra qcb first ingest
#   RESULTS, DOC  output paths (default bench/results/ingest.json, docs/benchmarks.md)
#   QCB_COMMIT  commit to report when the tree is not a git checkout
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$HOME/.cache/qcbackup-bench}
MESSAGES=${MESSAGES:-20000}
SMALL=${SMALL:-2000}
REPS=${REPS:-3}
CACHE=${CACHE:-warm}
PROFILE=${PROFILE:-1}
RESULTS=${RESULTS:-$ROOT/bench/results/ingest.json}
DOC=${DOC:-$ROOT/docs/benchmarks.md}
PASSWORD=qcbackup-bench-password
export QCB_PASSWORD=$PASSWORD RESTIC_PASSWORD=$PASSWORD BORG_PASSPHRASE=$PASSWORD
export RESTIC_CACHE_DIR=$BENCH_DIR/cache/restic BORG_BASE_DIR=$BENCH_DIR/cache/borg
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

log() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- what is missing
missing=()
command -v restic >/dev/null || missing+=(restic)
command -v borg >/dev/null || missing+=(borgbackup)
[ -x /usr/bin/time ] || missing+=(time)
if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null; then missing+=(linux-perf); fi
command -v dbus-run-session >/dev/null || missing+=(dbus-daemon)
command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}"
fi

log "building qcb-bench (release)"
(cd "$ROOT" && cargo build --release -p qcb-bench)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$BENCH_DIR/bin"
# A private copy: other builds in a shared target folder cannot swap it mid-run.
cp "$TARGET/release/qcb-bench" "$BENCH_DIR/bin/qcb-bench"
QCB=$BENCH_DIR/bin/qcb-bench
# ---------------------------------------------------------------- keychain
# The qcb rows keep the repository password and its remembered key in the OS keychain, as a
# backup set's scheduled run does (`qcb-bench ingest --keychain`): the rest of the script runs
# in a private D-Bus session with a gnome-keyring unlocked for it, which ends with the script.
if [ -z "${QCB_BENCH_IN_SESSION:-}" ]; then
    session=$(mktemp -d)
    chmod 700 "$session"
    trap 'rm -rf "$session"' EXIT
    status=0
    QCB_BENCH_IN_SESSION=1 XDG_RUNTIME_DIR=$session XDG_DATA_HOME=$session/data \
        dbus-run-session -- bash -c '
            eval "$(printf qcb-bench | gnome-keyring-daemon --unlock --components=secrets)" > /dev/null
            eval "$(gnome-keyring-daemon --start --components=secrets)" > /dev/null
            export GNOME_KEYRING_CONTROL
            exec bash "$0" "$@"' "$0" "$@" || status=$?
    exit $status
fi
KEYCHAIN=(--keychain com.qcbackup.bench)

# ---------------------------------------------------------------- corpora
gen() { # gen DIR N
    rm -rf "$1"
    mkdir -p "$1"
    python3 "$ROOT/bench/corpus/gen_corpus.py" generate --out "$1" --messages "$2"
}
BIG=$BENCH_DIR/corpus-$MESSAGES
SMALLDIR=$BENCH_DIR/corpus-$SMALL
log "generating corpora ($MESSAGES and $SMALL messages)"
gen "$BIG" "$MESSAGES"
gen "$SMALLDIR" "$SMALL"
cp "$BIG/corpus.json" "$BENCH_DIR/corpus-big-initial.json"

# ---------------------------------------------------------------- measuring
RUNS=$BENCH_DIR/runs.jsonl
: > "$RUNS"
rm -rf "$BENCH_DIR/repos" "$BENCH_DIR/cache"
mkdir -p "$BENCH_DIR/repos" "$BENCH_DIR/logs"

prepare_cache() { # prepare_cache CORPUS
    if [ "$CACHE" = cold ]; then
        sync
        echo 3 > /proc/sys/vm/drop_caches
    else
        find "$1/mailboxes" -type f -exec cat {} + > /dev/null
    fi
}

# run TOOL PHASE CORPUS REPO REP [ENV=VAL ...]: one measured run, appended to runs.jsonl
run() {
    local tool=$1 phase=$2 corpus=$3 repo=$4 rep=$5
    shift 5
    local src=$corpus/mailboxes out=$BENCH_DIR/logs/$tool-$phase-$(basename "$corpus")-$rep
    local cmd
    case $tool in
        qcb)
            # Created beforehand, untimed, as restic's and borg's repositories are (Argon2id to
            # wrap the key, password and remembered key into the keychain).
            [ -e "$repo/config" ] || "$QCB" init --repo "$repo" "${KEYCHAIN[@]}" > /dev/null
            cmd=("$QCB" ingest --repo "$repo" --source "$src" "${KEYCHAIN[@]}") ;;
        # The password from the environment and Argon2id at every open, as a server given
        # QCBACKUP_PASSWORD runs (no keychain).
        qcb-password) cmd=("$QCB" ingest --repo "$repo" --source "$src") ;;
        qcb-nodecay)
            [ -e "$repo/config" ] || "$QCB" init --repo "$repo" "${KEYCHAIN[@]}" > /dev/null
            cmd=(env _RJEM_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 "$QCB" ingest --repo "$repo" --source "$src" "${KEYCHAIN[@]}") ;;
        restic)
            [ -e "$repo/config" ] || restic -r "$repo" init --repository-version 2 -q
            cmd=(restic -r "$repo" backup --host bench --json "$src") ;;
        borg)
            [ -e "$repo/config" ] || borg init -e repokey-blake2 "$repo" 2> /dev/null
            cmd=(borg create --compression zstd,1 --json "$repo::run-$(date +%s%N)" "$src") ;;
    esac
    prepare_cache "$corpus"
    local load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -v -o "$out.time" "${cmd[@]}" > "$out.out" 2> "$out.err"
    t1=$(date +%s%N)
    local bytes
    bytes=$(du -sb "$repo" | cut -f1)
    python3 - "$tool" "$phase" "$corpus" "$rep" "$out" "$bytes" "$load" "$((t1 - t0))" >> "$RUNS" <<'EOF'
import json, re, sys
tool, phase, corpus, rep, out, repo_bytes, load, wall_ns = sys.argv[1:]
t = open(out + ".time").read()
def field(name):
    return re.search(re.escape(name) + r": (.*)", t).group(1).strip()
wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
parts = [float(x) for x in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
detail = None
stdout = open(out + ".out").read().strip().splitlines()
try:
    if tool.startswith("qcb"):
        detail = json.loads(stdout[-1])
    elif tool == "restic":
        detail = [json.loads(l) for l in stdout if '"summary"' in l][-1]
    elif tool == "borg":
        detail = json.loads("\n".join(stdout))["archive"]["stats"]
except Exception as e:  # keep the measurement even if a tool's summary format differs
    detail = {"unparsed": str(e)}
corpus_info = json.load(open(corpus + "/corpus.json"))
print(json.dumps({
    "tool": tool, "phase": phase, "rep": int(rep),
    "corpus_messages": corpus_info["messages"], "corpus_files": corpus_info["files"],
    "corpus_bytes": corpus_info["bytes"],
    # Wall time to the nanosecond around /usr/bin/time (which itself rounds to 10 ms).
    "wall_s": round(int(wall_ns) / 1e9, 4), "wall_time_v_s": round(secs, 3),
    "user_s": float(field("User time (seconds)")),
    "sys_s": float(field("System time (seconds)")),
    "max_rss_kib": int(field("Maximum resident set size (kbytes)")),
    "exit": int(field("Exit status")), "repo_bytes": int(repo_bytes), "loadavg_before": load,
    "detail": detail,
}))
EOF
    local status
    status=$(tail -1 "$RUNS" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["exit"], d["wall_s"], "s", d["max_rss_kib"], "KiB", d["repo_bytes"], "B")')
    printf '%-8s %-9s %-14s rep %s: %s\n' "$tool" "$phase" "$(basename "$corpus")" "$rep" "$status" >&2
    [ "${status%% *}" = 0 ] || { echo "$tool failed, see $out.err" >&2; exit 1; }
}

TOOLS=(qcb restic borg)
repo_of() { echo "$BENCH_DIR/repos/$1-$2-$3"; } # tool corpus rep

log "first ingest of $MESSAGES messages into fresh repositories ($REPS repetitions, tools interleaved)"
for rep in $(seq 1 "$REPS"); do
    for tool in "${TOOLS[@]}"; do
        run "$tool" first "$BIG" "$(repo_of "$tool" big "$rep")" "$rep"
    done
done
# Later phases continue in the last repetition's repositories; the others are removed.
for rep in $(seq 1 $((REPS - 1))); do
    for tool in "${TOOLS[@]}"; do rm -rf "$(repo_of "$tool" big "$rep")"; done
done

log "1% of the messages changed, 0.1% new"
python3 "$ROOT/bench/corpus/gen_corpus.py" change --out "$BIG" --percent 1 --new 0.1
for tool in "${TOOLS[@]}"; do
    run "$tool" changed "$BIG" "$(repo_of "$tool" big "$REPS")" 1
done

log "verifying qcb's second snapshot against the corpus (not timed)"
"$QCB" verify --repo "$(repo_of qcb big "$REPS")" --source "$BIG/mailboxes" | tee "$BENCH_DIR/verify.json" >&2

log "no change ($REPS repetitions)"
for rep in $(seq 1 "$REPS"); do
    for tool in "${TOOLS[@]}"; do
        run "$tool" nochange "$BIG" "$(repo_of "$tool" big "$REPS")" "$rep"
    done
    run qcb-password nochange "$BIG" "$(repo_of qcb big "$REPS")" "$rep"
done

log "verifying qcb's last no-change snapshot against the corpus (not timed)"
"$QCB" verify --repo "$(repo_of qcb big "$REPS")" --source "$BIG/mailboxes" | tee "$BENCH_DIR/verify-nochange.json" >&2

log "first ingest of $SMALL messages (memory against corpus size)"
for tool in "${TOOLS[@]}"; do
    run "$tool" first "$SMALLDIR" "$(repo_of "$tool" small 1)" 1
done
# Diagnosis: the same binary with jemalloc told to return freed pages at once (no decay), which
# shows how much of the peak RSS is live data and how much memory the allocator keeps.
run qcb-nodecay first "$SMALLDIR" "$(repo_of qcb-nodecay small 1)" 1
run qcb-nodecay first "$BIG" "$(repo_of qcb-nodecay big 1)" 1

log "zstd levels over the corpus's chunks (not part of the timings above)"
"$TARGET/release/qcb-zstd-levels" "$BIG/mailboxes" 1,2,3,5,7,9 | tee "$BENCH_DIR/zstd-levels.json" >&2

log "Argon2id with the default parameters, on its own (not part of the timings above)"
"$QCB" kdf | tee "$BENCH_DIR/kdf.json" >&2

PERF_TXT=$BENCH_DIR/perf-report.txt
: > "$PERF_TXT"
if [ "$PROFILE" = 1 ] && command -v perf > /dev/null; then
    log "profiling one more qcb first ingest of $MESSAGES messages (not part of the timings)"
    rm -rf "$BENCH_DIR/repos/profile"
    "$QCB" init --repo "$BENCH_DIR/repos/profile" "${KEYCHAIN[@]}" > /dev/null
    prepare_cache "$BIG"
    perf record -F 499 -g -o "$BENCH_DIR/perf.data" "$QCB" ingest --repo "$BENCH_DIR/repos/profile" \
        --source "$BIG/mailboxes" "${KEYCHAIN[@]}" > "$BENCH_DIR/logs/profile.out" 2> "$BENCH_DIR/logs/profile.err" || true
    perf report -i "$BENCH_DIR/perf.data" --no-children -g none --sort symbol --stdio 2> /dev/null \
        | grep -E '^ +[0-9]+\.[0-9]+%' | head -60 > "$PERF_TXT" || true
    perf report -i "$BENCH_DIR/perf.data" --no-children -g none --sort comm --stdio 2> /dev/null \
        | grep -E '^ +[0-9]+\.[0-9]+%' | head -10 > "$BENCH_DIR/perf-threads.txt" || true
fi

# ---------------------------------------------------------------- machine and report
COMMIT=${QCB_COMMIT:-$(git -C "$ROOT" rev-parse HEAD 2> /dev/null || echo unknown)}
DIRTY=$(git -C "$ROOT" status --porcelain 2> /dev/null | grep -c . || true)
python3 "$ROOT/bench/report.py" collect --runs "$RUNS" --out "$RESULTS" \
    --corpus-initial "$BENCH_DIR/corpus-big-initial.json" --corpus-changed "$BIG/corpus.json" \
    --corpus-small "$SMALLDIR/corpus.json" --perf "$PERF_TXT" --perf-threads "$BENCH_DIR/perf-threads.txt" \
    --verify "$BENCH_DIR/verify.json" --verify-nochange "$BENCH_DIR/verify-nochange.json" --levels "$BENCH_DIR/zstd-levels.json" --kdf "$BENCH_DIR/kdf.json" --commit "$COMMIT" --dirty "${DIRTY:-0}" --cache "$CACHE" --reps "$REPS" \
    --restic "$(restic version)" --borg "$(borg --version)"
python3 "$ROOT/bench/report.py" render --results "$RESULTS" --out "$DOC"
log "wrote $RESULTS and $DOC"
