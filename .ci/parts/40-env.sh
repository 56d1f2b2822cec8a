#!/usr/bin/env bash
# debugenv (env crate) extras: the tiny package's and TalentFlow's affected-tests maps are fresh,
# verify proves the tiny package and TalentFlow, VecEnv throughput for N = 1, 2, 4, 8,
# TalentFlow's grading speed, and the
# env crate's Docker tests on the tiny package's image.
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
"$BIN/affected" examples/talentflow --python "$PY" --check | tee -a "$SUMMARY"

"$BIN/verify" "$TINY" --python "$PY" --jobs 2 --repeats 3 | tee "$LOGDIR/verify-tiny.txt"
grep '^verify:' "$LOGDIR/verify-tiny.txt" | sed 's/^/tiny /' >> "$SUMMARY"

# TalentFlow: shipped ~0%, all-fixed 100%, leave-one-out and sufficiency of all
# 31 bugs, 5 repeated runs of the shipped and fixed states (two sandboxes).
"$BIN/verify" examples/talentflow --python "$PY" --jobs 2 --repeats 5 | tee "$LOGDIR/verify-talentflow.txt"
grep '^verify:' "$LOGDIR/verify-talentflow.txt" | sed 's/^/talentflow /' >> "$SUMMARY"

"$BIN/throughput" "$TINY" --python "$PY" --steps 6 --n 1,2,4,8 | tee "$LOGDIR/throughput.txt"
{
    echo "VecEnv throughput (tiny package, graded steps/s, ratio to N=1 in the same run):"
    tail -n 4 "$LOGDIR/throughput.txt"
} >> "$SUMMARY"

# TalentFlow's grading speed against plain pytest on a stock PostgreSQL
# (issue 6's targets: full grading >= 2x faster, targeted p50 <= 1.5 s). The
# ratios are printed; GRADING_SPEED_ENFORCE=1 makes a miss fail.
cargo build -q --release --locked --example grading_speed
"$BIN/grading_speed" --python "$PY" --repeats 3 | tee "$LOGDIR/grading-speed.txt"
{
    echo "TalentFlow grading speed (one run, medians):"
    grep -E '^(plain pytest|full grading|targeted grading|preloaded gradings|harness overhead)' "$LOGDIR/grading-speed.txt"
} >> "$SUMMARY"

# ---- the env crate on the Docker backend --------------------------------
# The tiny package's image: the sandbox base image (built by 20-sandbox.sh,
# cached by content hash) plus pytest from a wheelhouse made here.
SOCK=/var/run/docker.sock
engine_up() { curl -sf --max-time 5 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
dockerd_pid=""
stop_engine() {
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
}
trap stop_engine EXIT
if ! engine_up; then
    command -v dockerd >/dev/null || { echo "40-env: no Docker engine and no dockerd" >&2; exit 1; }
    dockerd >"$LOGDIR/dockerd-env.out" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do engine_up && break; sleep 1; done
    engine_up || { echo "40-env: the Docker engine did not start" >&2; exit 1; }
fi
CTX=$(mktemp -d /tmp/ci-tiny-image.XXXXXX)
cp env/tests/fixtures/tiny/image/Dockerfile "$CTX/"
"$PY" -m pip download -q --disable-pip-version-check --only-binary=:all: -d "$CTX/wheelhouse" pytest pytest-cov
cargo run -q --locked -p debugenv-sandbox --bin debugenv-sandbox -- build-image "$CTX" debugenv-tiny:latest
rm -rf "$CTX"
set +e
DEBUGENV_TINY_IMAGE=debugenv-tiny:latest cargo test -q --locked -p debugenv --test integration docker:: -- --ignored 2>&1 \
    | tee "$LOGDIR/env-docker-tests.out"
status=${PIPESTATUS[0]}
set -e
{
    echo "env crate on the docker backend (tiny package):"
    grep '^test result:' "$LOGDIR/env-docker-tests.out" || echo "no test result line"
} >> "$SUMMARY"
cargo run -q --locked -p debugenv-sandbox --bin debugenv-sandbox -- reap --docker || true
exit "$status"
