#!/usr/bin/env bash
# Part: the TalentFlow environment package (examples/talentflow/).
#
# The shipped project/ is broken on purpose (31 bugs); this part checks the
# product behind it: a fixed copy (scripts/fixed_copy.sh applies every
# solutions/<ID>.patch), the venv of scripts/provision.sh ($DEBUGENV_VENV,
# default /opt/debugenv/venv), private PostgreSQL and Redis from
# scripts/services.sh (stopped by pid on exit, whatever happens), tests.json
# against pytest's own collection of the fixed copy, and the whole suite on it
# (JUnit XML to $LOGDIR). Any failure fails the part.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)
LOGDIR=${LOGDIR:-$ROOT/.ci/state/logs}
mkdir -p "$LOGDIR"
PKG=$ROOT/examples/talentflow
VENV=${DEBUGENV_VENV:-/opt/debugenv/venv}
PY=$VENV/bin/python

fail() { echo "30-talentflow: $*" >&2; echo "talentflow: FAILED: $*" >"$LOGDIR/summary-talentflow.txt"; exit 1; }

bash "$PKG/scripts/provision.sh" "$VENV" || fail "provisioning $VENV failed"

STATE=$(mktemp -d /tmp/talentflow-ci.XXXXXX)
cleanup() {
    local rc=$?
    bash "$PKG/scripts/services.sh" stop "$STATE" || true
    rm -rf "$STATE"
    exit "$rc"
}
trap cleanup EXIT
FIXED=$STATE/fixed
bash "$PKG/scripts/fixed_copy.sh" "$FIXED" || fail "the reference fixes do not apply"
bash "$PKG/scripts/services.sh" start "$STATE" || fail "services did not start"
# shellcheck disable=SC1091
source "$STATE/services.env"

echo "30-talentflow: checking tests.json against pytest's collection"
(cd "$PKG" && "$PY" scripts/gen_tests_json.py --check --project "$FIXED") || fail "examples/talentflow/tests.json is stale (run scripts/gen_tests_json.py)"

set +e
(cd "$FIXED" && "$PY" -m pytest -p no:cacheprovider --junitxml="$LOGDIR/talentflow-junit.xml" -o junit_family=xunit2) \
    2>&1 | tee "$LOGDIR/talentflow-pytest.log"
status=${PIPESTATUS[0]}
set -e
{
    echo "talentflow (pytest, fixed copy):"
    grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$LOGDIR/talentflow-pytest.log" | tail -1 \
        || echo "no pytest summary line"
} >"$LOGDIR/summary-talentflow.txt"
[ "$status" -eq 0 ] || { cat "$LOGDIR/summary-talentflow.txt" >&2; fail "pytest exited with $status"; }
cat "$LOGDIR/summary-talentflow.txt"
