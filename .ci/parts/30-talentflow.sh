#!/usr/bin/env bash
# Part: the TalentFlow environment package (examples/talentflow/).
#
# Uses the project venv ($DEBUGENV_VENV, default /opt/debugenv/venv; created
# here from requirements.txt if .ci/run has not done it yet), fills the offline
# wheelhouse the resolver tests need, starts private PostgreSQL and Redis with
# scripts/services.sh (stopped by pid on exit, whatever happens), runs the
# whole pytest suite (JUnit XML to $LOGDIR) and checks that tests.json matches
# pytest's own collection. Any failure fails the part.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
LOGDIR=${LOGDIR:-$ROOT/.ci/state/logs}
mkdir -p "$LOGDIR"
PKG=$ROOT/examples/talentflow
VENV=${DEBUGENV_VENV:-/opt/debugenv/venv}
PY=$VENV/bin/python
export TALENTFLOW_WHEELHOUSE=${TALENTFLOW_WHEELHOUSE:-$(dirname "$VENV")/wheelhouse}

fail() { echo "30-talentflow: $*" >&2; echo "talentflow: FAILED: $*" >"$LOGDIR/summary-talentflow.txt"; exit 1; }

if [ ! -x "$PY" ]; then
    echo "30-talentflow: creating the venv $VENV"
    /usr/bin/python3 -m venv "$VENV"
fi
"$PY" -m pip install --quiet --disable-pip-version-check -r "$PKG/project/requirements.txt" \
    || fail "pip install -r requirements.txt failed"
bash "$PKG/scripts/wheelhouse.sh" "$TALENTFLOW_WHEELHOUSE" || fail "wheelhouse could not be filled"

STATE=$(mktemp -d /tmp/talentflow-ci.XXXXXX)
cleanup() {
    local rc=$?
    bash "$PKG/scripts/services.sh" stop "$STATE" || true
    rm -rf "$STATE"
    exit "$rc"
}
trap cleanup EXIT
bash "$PKG/scripts/services.sh" start "$STATE" || fail "services did not start"
# shellcheck disable=SC1091
source "$STATE/services.env"

echo "30-talentflow: checking tests.json against pytest's collection"
(cd "$PKG" && "$PY" scripts/gen_tests_json.py --check) || fail "examples/talentflow/tests.json is stale (run scripts/gen_tests_json.py)"

set +e
(cd "$PKG/project" && "$PY" -m pytest -p no:cacheprovider --junitxml="$LOGDIR/talentflow-junit.xml" -o junit_family=xunit2) \
    2>&1 | tee "$LOGDIR/talentflow-pytest.log"
status=${PIPESTATUS[0]}
set -e
{
    echo "talentflow (pytest):"
    grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$LOGDIR/talentflow-pytest.log" | tail -1 \
        || echo "no pytest summary line"
} >"$LOGDIR/summary-talentflow.txt"
[ "$status" -eq 0 ] || { cat "$LOGDIR/summary-talentflow.txt" >&2; fail "pytest exited with $status"; }
cat "$LOGDIR/summary-talentflow.txt"
