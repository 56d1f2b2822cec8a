#!/usr/bin/env bash
# Part: the debugenv-sandbox Docker backend.
#
# The local backend's conformance suite already ran in `cargo test --workspace`.
# This part builds the sandbox image without a registry (a debootstrap Debian
# bookworm root filesystem from the machine's own apt mirror, imported through
# the engine API, cached by content hash; then sandbox/image/conformance/Dockerfile
# on it with ARG BASE), switches the Docker conformance suite on and runs it,
# then runs the speed bench on both backends (figures in summary-sandbox.txt).
# Leftovers of crashed runs are reaped before and after.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
LOGDIR=${LOGDIR:-$PWD/.ci/state/logs}
mkdir -p "$LOGDIR"
IMAGE=debugenv-sandbox-conformance:latest
SOCK=/var/run/docker.sock

# Local sandboxes run their services as this system user (LocalSandbox also
# creates it on first use; doing it here keeps test output free of useradd).
if ! id debugenv-sandbox >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin debugenv-sandbox
fi

engine_up() { curl -sf --max-time 5 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

dockerd_pid=""
cleanup() {
    local rc=$?
    if engine_up; then
        cargo run -q -p debugenv-sandbox --bin debugenv-sandbox --locked -- reap --docker || true
    fi
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    exit "$rc"
}
trap cleanup EXIT

if ! engine_up; then
    if ! command -v dockerd >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends docker.io
    fi
    if ! engine_up; then
        dockerd >"$LOGDIR/dockerd.out" 2>&1 &
        dockerd_pid=$!
        for _ in $(seq 1 60); do engine_up && break; sleep 1; done
        engine_up || { echo "20-sandbox: the Docker engine did not start" >&2; tail -20 "$LOGDIR/dockerd.out" >&2; exit 1; }
    fi
fi

cargo build -q -p debugenv-sandbox --bins --locked
cargo run -q -p debugenv-sandbox --bin debugenv-sandbox --locked -- reap --docker
start=$(date +%s)
cargo run -q -p debugenv-sandbox --bin debugenv-sandbox --locked -- \
    build-image sandbox/image/conformance "$IMAGE" | tee "$LOGDIR/sandbox-image.out"
echo "20-sandbox: image ready after $(( $(date +%s) - start )) s"

set +e
DEBUGENV_DOCKER_TESTS=1 DEBUGENV_DOCKER_IMAGE=$IMAGE \
    cargo test -p debugenv-sandbox --locked --test integration -- docker:: 2>&1 \
    | tee "$LOGDIR/sandbox-docker-tests.out"
test_status=${PIPESTATUS[0]}

# Speed, both backends, ratios against baselines measured in the same run
# (sandbox/benches/speed.rs; exits non-zero when a target is missed).
DEBUGENV_DOCKER_BENCH=1 DEBUGENV_DOCKER_IMAGE=$IMAGE \
    cargo bench -p debugenv-sandbox --locked --bench speed 2>&1 \
    | tee "$LOGDIR/sandbox-bench.out"
bench_status=${PIPESTATUS[0]}
set -e
{
    echo "sandbox (docker backend conformance):"
    grep '^test result:' "$LOGDIR/sandbox-docker-tests.out" || echo "no test result line"
    echo "sandbox speed (cargo bench -p debugenv-sandbox --bench speed):"
    sed -n '/^baseline:/,$p' "$LOGDIR/sandbox-bench.out" | grep -v '^error\|^Caused\|^ *process didn' \
        || echo "no bench output"
} >"$LOGDIR/summary-sandbox.txt"
if [ "$test_status" -ne 0 ] || [ "$bench_status" -ne 0 ]; then
    echo "20-sandbox: docker tests exit $test_status, bench exit $bench_status" >&2
    exit 1
fi
