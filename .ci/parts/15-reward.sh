#!/usr/bin/env bash
# debugenv-reward / debugenv-bugs extras (issue 3):
# * the `score` example as a real process: one JSON line for valid input,
#   exit status 2 and exactly one stderr line for each kind of invalid input;
# * the reward_scale bench in its short mode (REWARD_SCALE_SHORT=1): reward +
#   per-bug credit at 10k / 100k / 1M tests (100 / 1k / 10k bugs), growth
#   ratios against the 10k baseline measured in the same run, with warm and
#   with cold caches (see the bench's docs). Fails if a 10x step of the input
#   costs more than MAX_RATIO (default 12) times the time in the cold regime
#   (a grading follows a test run), read as thread CPU time (other processes
#   on the machine stretch wall-clock time unevenly); the wall ratios and the
#   warm regime are printed beside it.
# Writes its closing lines to $LOGDIR/summary-reward.txt.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
LOGDIR=${LOGDIR:-$ROOT/.ci/state/logs}
mkdir -p "$LOGDIR"
SUMMARY=$LOGDIR/summary-reward.txt
: > "$SUMMARY"
MAX_RATIO=${MAX_RATIO:-12}
WORK=$(mktemp -d /tmp/ci-reward.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
log() { printf 'reward: %s\n' "$*" | tee -a "$SUMMARY"; }
fail() { log "FAILED: $*"; exit 1; }

# ---- the score example's contract, as a process -------------------------
cargo build -q --locked --example score
SCORE=${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/score
[ -x "$SCORE" ] || fail "score example not found at $SCORE"

cat > "$WORK/valid.json" <<'EOF'
{"preset": "talentflow", "step": 3, "max_steps": 100,
 "bugs":  [{"id": "S5", "depends_on": []}, {"id": "A1", "depends_on": ["S5"]}],
 "tests": [{"id": "tests/unit/test_a.py::test_x", "category": "unit",
            "bugs": ["A1"], "passed": true, "passed_at_baseline": false},
           {"id": "tests/unit/test_s.py::test_y", "category": "unit",
            "bugs": ["S5"], "passed": false, "passed_at_baseline": true}]}
EOF
out=$("$SCORE" "$WORK/valid.json")
keys=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(",".join(sorted(d)))' "$out")
[ "$keys" = "bug_bonus,completion_bonus,efficiency_bonus,regression_penalty,test_pass_score,total" ] \
    || fail "score: unexpected output keys: $out"
log "score valid input: $out"

# name | python expression turning the valid input `d` into an invalid one | text expected on stderr
bad_cases=(
    "unknown category|d['tests'][0]['category']='smoke'|unknown category \`smoke\`"
    "unknown bug|d['tests'][0]['bugs']=['A1','Z9']|names unknown bug \`Z9\`"
    "cycle|d['bugs'][0]['depends_on']=['A1']|dependency cycle: A1 -> S5 -> A1"
    "bug without tests|d['bugs'].append({'id':'E1'})|bug \`E1\` has no tests"
)
for case in "${bad_cases[@]}"; do
    IFS='|' read -r name edit needle <<< "$case"
    python3 - "$WORK/valid.json" "$WORK/bad.json" "$edit" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
EOF
    set +e
    "$SCORE" "$WORK/bad.json" > "$WORK/bad.out" 2> "$WORK/bad.err"
    status=$?
    set -e
    lines=$(wc -l < "$WORK/bad.err")
    [ "$status" -eq 2 ] || fail "score $name: exit status $status, expected 2"
    [ "$lines" -eq 1 ] || fail "score $name: $lines stderr lines, expected 1: $(cat "$WORK/bad.err")"
    [ ! -s "$WORK/bad.out" ] || fail "score $name: wrote to stdout: $(cat "$WORK/bad.out")"
    grep -qF -- "$needle" "$WORK/bad.err" || fail "score $name: stderr lacks '$needle': $(cat "$WORK/bad.err")"
    log "score $name: exit 2: $(cat "$WORK/bad.err")"
done

# ---- reward_scale: growth ratios -----------------------------------------
REWARD_SCALE_SHORT=1 cargo bench --locked --bench reward_scale 2>&1 | tee "$WORK/bench.out"
grep -E '^reward_scale: (warm|cold): ' "$WORK/bench.out" | while IFS= read -r line; do log "$line"; done
ratios=$(grep -c '^reward_scale: cold: ratio ' "$WORK/bench.out" || true)
[ "$ratios" -eq 2 ] || fail "reward_scale printed $ratios cold ratio lines, expected 2"
while IFS= read -r line; do
    cpu=$(sed -E 's/.*cpu ([0-9.]+)x.*/\1/' <<< "$line")
    if ! awk -v r="$cpu" -v max="$MAX_RATIO" 'BEGIN { exit !(r > 0 && r <= max) }'; then
        fail "growth above ${MAX_RATIO}x per 10x input: $line"
    fi
done < <(grep '^reward_scale: cold: ratio ' "$WORK/bench.out")
log "reward_scale: ok: every 10x step of the input costs at most ${MAX_RATIO}x (cold caches, thread CPU time)"
