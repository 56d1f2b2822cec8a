#!/usr/bin/env bash
# Part: TalentFlow's images, without a registry.
#
# * examples/talentflow/image/requirements.lock equals the fixed copy's
#   requirements.txt (the images install it: the shipped one does not resolve).
# * Builds, offline (the wheelhouse of scripts/provision.sh's venv,
#   $DEBUGENV_VENV/wheelhouse, plus pytest-cov's wheels), on the local sandbox
#   base image: debugenv-talentflow-test:latest (examples/talentflow/Dockerfile,
#   the compose test runner) and debugenv-talentflow:latest (image/Dockerfile,
#   the env crate's Docker backend image).
# * Runs the registry quick start (docker-compose.yml) with
#   docker-compose.local.yml pointing every service at local images: up -d, a
#   probe that the database and Redis answer from the test container, the
#   suite on the shipped project (must fail: close to 0% passing, and for the
#   product's reasons, not the infrastructure's), the suite on the fixed copy
#   in the same containers (must pass all of tests.json), then down -v.
# * Checks the environment image's venv. Writes its closing lines to
#   $LOGDIR/summary-talentflow-image.txt.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
LOGDIR=${LOGDIR:-$ROOT/.ci/state/logs}
mkdir -p "$LOGDIR"
SUMMARY=$LOGDIR/summary-talentflow-image.txt
: >"$SUMMARY"
PKG=$ROOT/examples/talentflow
VENV=${DEBUGENV_VENV:-/opt/debugenv/venv}
PY=$VENV/bin/python
TEST_IMAGE=debugenv-talentflow-test:latest
ENV_IMAGE=debugenv-talentflow:latest
# At most this share of tests.json may pass on the shipped project.
SHIPPED_MAX_PCT=5

fail() {
    echo "35-talentflow-image: $*" >&2
    echo "talentflow images: FAILED: $*" >>"$SUMMARY"
    exit 1
}

# ---- engine (as 40-env.sh) ----------------------------------------------
SOCK=/var/run/docker.sock
engine_up() { curl -sf --max-time 5 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
dockerd_pid=""
WORK=""
compose_started=""
dc=()
cleanup() {
    local rc=$?
    if [ -n "$compose_started" ]; then
        "${dc[@]}" down -v --remove-orphans >>"$LOGDIR/talentflow-image-compose.log" 2>&1 || true
    fi
    [ -z "$WORK" ] || rm -rf "$WORK"
    if [ -n "$dockerd_pid" ]; then
        kill "$dockerd_pid" 2>/dev/null || true
        wait "$dockerd_pid" 2>/dev/null || true
    fi
    exit "$rc"
}
trap cleanup EXIT
if ! engine_up; then
    command -v dockerd >/dev/null || fail "no Docker engine and no dockerd"
    dockerd >"$LOGDIR/dockerd-talentflow-image.out" 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do engine_up && break; sleep 1; done
    engine_up || fail "the Docker engine did not start"
fi
if ! command -v docker-compose >/dev/null; then
    # Debian bookworm's docker-compose (1.29), as 20-sandbox.sh installs docker.io.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-compose >/dev/null \
        || fail "docker-compose is not installed and apt-get could not install it"
fi

# ---- inputs -----------------------------------------------------------------
bash "$PKG/scripts/provision.sh" "$VENV" || fail "provisioning $VENV failed"
WORK=$(mktemp -d /tmp/talentflow-image.XXXXXX)
bash "$PKG/scripts/fixed_copy.sh" "$WORK/fixed" >/dev/null || fail "the reference fixes do not apply"
if ! diff <(grep -v '^#' "$PKG/image/requirements.lock") <(grep -v '^#' "$WORK/fixed/requirements.txt") \
    >"$WORK/lock.diff"; then
    cat "$WORK/lock.diff" >&2
    fail "examples/talentflow/image/requirements.lock differs from the fixed copy's requirements.txt"
fi
TOTAL=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["tests"]))' "$PKG/tests.json")
[ "$TOTAL" -gt 0 ] || fail "tests.json lists no tests"

# Build contexts (image/make-context.sh): copies of the package layout with
# the venv's wheelhouse and pytest-cov's wheels, downloaded once for both.
mapfile -t cov < <("$PY" -m pip freeze --all 2>/dev/null | grep -iE '^(pytest-cov|coverage)==')
[ "${#cov[@]}" -eq 2 ] || fail "$VENV has no pytest-cov and coverage to pin the images' to"
"$PY" -m pip download -q --disable-pip-version-check --only-binary=:all: --no-deps \
    -d "$WORK/extra-wheels" "${cov[@]}" || fail "cannot download the wheels of ${cov[*]}"
export TALENTFLOW_EXTRA_WHEELS=$WORK/extra-wheels DEBUGENV_VENV=$VENV
bash "$PKG/image/make-context.sh" test "$WORK/ctx-test" || fail "cannot make the test image's build context"
bash "$PKG/image/make-context.sh" env "$WORK/ctx-env" || fail "cannot make the environment image's build context"

# ---- images -------------------------------------------------------------
build() { # CONTEXT TAG
    local t0=$SECONDS prev now
    prev=$(docker image inspect -f '{{.Id}}' "$2" 2>/dev/null || true)
    cargo run -q --locked -p debugenv-sandbox --bin debugenv-sandbox -- build-image "$1" "$2" \
        2>&1 | tee -a "$LOGDIR/talentflow-image-build.log" || return 1
    echo "$2 built in $((SECONDS - t0)) s (cached images are reused)" >>"$SUMMARY"
    # The version this build replaced, now untagged (kept while in use).
    now=$(docker image inspect -f '{{.Id}}' "$2")
    if [ -n "$prev" ] && [ "$prev" != "$now" ]; then docker rmi "$prev" >/dev/null 2>&1 || true; fi
}
: >"$LOGDIR/talentflow-image-build.log"
build "$WORK/ctx-test" "$TEST_IMAGE" || fail "building $TEST_IMAGE failed (see talentflow-image-build.log)"
build "$WORK/ctx-env" "$ENV_IMAGE" || fail "building $ENV_IMAGE failed (see talentflow-image-build.log)"
BASE=$(sed -n 's/^base image \([^ ]*\) ready.*/\1/p' "$LOGDIR/talentflow-image-build.log" | tail -1)
[ -n "$BASE" ] || fail "debugenv-sandbox build-image did not name the base image"

# The environment image: the venv the env crate's Docker backend runs.
ENV_CHECK='
import importlib.metadata as md, pathlib
import django, pytest, pytest_cov, pytest_django, psycopg, psycopg2
wheels = len(list(pathlib.Path("/opt/venv/wheelhouse").glob("*.whl")))
assert wheels, "no wheels in /opt/venv/wheelhouse"
print("venv: Django", md.version("django"), "pytest", md.version("pytest"),
      "pytest-cov", md.version("pytest-cov"), "psycopg2", md.version("psycopg2"),
      "psycopg2-binary", md.version("psycopg2-binary"), "wheelhouse", wheels, "wheels")
'
docker run --rm --network none "$ENV_IMAGE" /opt/venv/bin/python -c "$ENV_CHECK" >"$WORK/env-check.out" 2>&1 \
    || { cat "$WORK/env-check.out" >&2; fail "$ENV_IMAGE: its venv is incomplete"; }
echo "$ENV_IMAGE: $(tail -1 "$WORK/env-check.out")" >>"$SUMMARY"

# ---- the compose quick start on local images --------------------------------
export TALENTFLOW_BASE_IMAGE=$BASE TALENTFLOW_TEST_IMAGE=$TEST_IMAGE
dc=(docker-compose --ansi never -p "talentflow-ci-$$" -f "$PKG/docker-compose.yml" -f "$PKG/docker-compose.local.yml")
"${dc[@]}" config -q || fail "the compose files do not validate"
compose_started=1
"${dc[@]}" up -d 2>&1 | tee "$LOGDIR/talentflow-image-compose.log" || fail "docker-compose up -d failed"

# Infrastructure first: the database and Redis must answer from the test
# container, so that a failing suite below is the product's failure.
PROBE='
import os, time
import psycopg, redis
last, deadline = None, time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=3).close()
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=3).ping()
        print("probe: database and redis answer")
        break
    except Exception as e:
        last = e
        time.sleep(0.5)
else:
    raise SystemExit(f"probe: infrastructure unreachable: {last!r}")
'
if ! "${dc[@]}" run --rm -T test python -c "$PROBE" >"$LOGDIR/talentflow-image-probe.log" 2>&1; then
    tail -5 "$LOGDIR/talentflow-image-probe.log" >&2
    fail "infrastructure: the test container cannot reach db and redis (see talentflow-image-probe.log)"
fi
tail -1 "$LOGDIR/talentflow-image-probe.log"

# pytest's closing line, e.g. "==== 3 failed, 320 errors in 12.3s ====".
summary_line() { grep -E '^=+ .*(passed|failed|error|errors|no tests ran|skipped|deselected).* in [0-9.]+s' "$1" | tail -1 || true; }
count() { sed -nE "s/.*[^0-9]([0-9]+) $1[ ,=].*/\\1/p" <<<"$2" | head -1; }
# judge_shipped LOG EXIT: prints the verdict on the shipped project's run;
# succeeds when the suite failed (at most SHIPPED_MAX_PCT% of TOTAL passing)
# for the product's reasons, fails when everything passed, too much passed,
# or pytest did not run for an infrastructure reason.
judge_shipped() {
    local log=$1 rc=$2 line passed last
    # The compose services' own names in psycopg's and redis-py's errors.
    if grep -qE 'connection to server at "[^"]*", port 5432 failed|could not translate host name "db"|connecting to redis:6379|No module named .?pytest' "$log"; then
        echo "infrastructure, not the project: $(grep -m1 -oE 'connection to server at "[^"]*", port 5432 failed.*|could not translate host name "db".*|Error.*connecting to redis:6379.*|No module named .?pytest.*' "$log")"
        return 1
    fi
    line=$(summary_line "$log")
    if [ -n "$line" ]; then
        passed=$(count passed "$line")
        passed=${passed:-0}
        if [ "$rc" -eq 0 ]; then echo "pytest says everything passed ($line)"; return 1; fi
        if [ $((passed * 100)) -gt $((TOTAL * SHIPPED_MAX_PCT)) ]; then
            echo "$passed of $TOTAL tests pass, more than ${SHIPPED_MAX_PCT}% ($line)"
            return 1
        fi
        echo "$passed/$TOTAL passed: $line"
        return 0
    fi
    # No summary: pytest stopped before running a test. That is the shipped
    # product's failure only when the traceback runs through the project's
    # code (/app) and ends in an exception (S5's import cycle stops
    # django.setup()); a docker error or a crash elsewhere is not.
    # (docker-compose 1.29's `run -T` ends the output with the exit code.)
    last=$(grep -vE '^[[:space:]]*[0-9]*[[:space:]]*$' "$log" | tail -1)
    if [ "$rc" -ne 0 ] && grep -q '^  File "/app/' "$log" \
        && grep -qE '^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception)(:|$)' <<<"$last"; then
        echo "0/$TOTAL passed: pytest stopped at start-up (exit $rc): $last"
        return 0
    fi
    echo "pytest did not run for a reason outside the project (exit $rc): ${last:-no output}"
    return 1
}

set +e
"${dc[@]}" run --rm -T test 2>&1 | tee "$LOGDIR/talentflow-image-shipped.log" | tail -n 5
shipped_rc=${PIPESTATUS[0]}
set -e
shipped=$(judge_shipped "$LOGDIR/talentflow-image-shipped.log" "$shipped_rc") || fail "shipped project: $shipped"
echo "compose, shipped project: $shipped" >>"$SUMMARY"

# The same containers, the fixed copy: the stack must carry the whole suite.
set +e
"${dc[@]}" run --rm -T -v "$WORK/fixed:/fixed" -w /fixed test python -m pytest 2>&1 \
    | tee "$LOGDIR/talentflow-image-fixed.log" | tail -n 3
fixed_rc=${PIPESTATUS[0]}
set -e
line=$(summary_line "$LOGDIR/talentflow-image-fixed.log")
passed=$(count passed "$line")
if [ "$fixed_rc" -ne 0 ] || [ "${passed:-0}" -ne "$TOTAL" ]; then
    fail "fixed copy: expected $TOTAL passed, pytest exit $fixed_rc: ${line:-no summary line}"
fi
echo "compose, fixed copy: $line" >>"$SUMMARY"

"${dc[@]}" down -v --remove-orphans >>"$LOGDIR/talentflow-image-compose.log" 2>&1 || fail "docker-compose down -v failed"
compose_started=""
left=$(docker ps -aq --filter "label=com.docker.compose.project=talentflow-ci-$$" | wc -l)
[ "$left" -eq 0 ] || fail "$left containers of the compose project are left"
echo "talentflow images: ok (compose project removed)" >>"$SUMMARY"
cat "$SUMMARY"
