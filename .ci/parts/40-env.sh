#!/usr/bin/env bash
# debugenv (env crate) extras: the tiny package's affected-tests map is fresh,
# verify proves the tiny package, and VecEnv throughput for N = 1, 2, 4, 8.
# Writes its closing lines to $LOGDIR/summary-env.txt.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
LOGDIR=${LOGDIR:-$ROOT/.ci/state/logs}
mkdir -p "$LOGDIR"
SUMMARY=$LOGDIR/summary-env.txt
: > "$SUMMARY"
PY=${DEBUGENV_PYTHON:-/opt/debugenv/venv/bin/python}
TINY=env/tests/fixtures/tiny

cargo build -q --release --locked -p debugenv --examples
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples

"$BIN/affected" "$TINY" --python "$PY" --check | tee -a "$SUMMARY"

"$BIN/verify" "$TINY" --python "$PY" --jobs 2 --repeats 3 | tee "$LOGDIR/verify-tiny.txt"
grep '^verify:' "$LOGDIR/verify-tiny.txt" | sed 's/^/tiny /' >> "$SUMMARY"

"$BIN/throughput" "$TINY" --python "$PY" --steps 6 --n 1,2,4,8 | tee "$LOGDIR/throughput.txt"
{
    echo "VecEnv throughput (tiny package, graded steps/s, ratio to N=1 in the same run):"
    tail -n 4 "$LOGDIR/throughput.txt"
} >> "$SUMMARY"
