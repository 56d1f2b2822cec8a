#!/usr/bin/env bash
# Regenerates the generated JUnit fixtures in junit/fixtures/<tool>/ by running
# the real tools on the small projects in junit/fixtures/src/. Not run in CI
# (it needs PyPI, Node 20, cmake, phpunit and cargo-nextest); the fixtures are
# committed. Hand-made fixtures (tools that cannot run here) are not touched.
#
#   bash junit/scripts/gen-fixtures.sh            # uses/creates a venv in /tmp
#
# Output is normalized only where a value changes on every run and would make
# diffs noisy: timestamps, hostnames, durations and absolute temp paths are
# replaced by fixed values. Nothing structural is edited.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=$HERE/fixtures/src
OUT=$HERE/fixtures
WORK=$(mktemp -d /tmp/junit-fixtures.XXXXXX)
VENV=${VENV:-/tmp/junit-fixtures-venv}
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$VENV/bin/pytest" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q pytest pytest-xdist pytest-rerunfailures \
        unittest-xml-reporting nose2 pytest-django django robotframework behave
fi
PY=$VENV/bin

# Stable values for fields that change on every run.
normalize() {
    sed -E -i \
        -e 's/timestamp="[^"]*"/timestamp="2026-01-01T00:00:00"/g' \
        -e 's/hostname="[^"]*"/hostname="fixture-host"/g' \
        -e 's/ time="[0-9.,e-]+"/ time="0.001"/g' \
        -e 's/uuid="[^"]*"/uuid="00000000-0000-0000-0000-000000000000"/g' \
        -e "s#$WORK/#/tmp/work/#g" \
        -e "s#$VENV/#/tmp/venv/#g" \
        "$1"
}

run() { echo "+ $*" >&2; "$@" > /dev/null 2>&1 || true; }

# ---- pytest: three families, xdist, reruns, junit_logging, collect-only ----
mkdir -p "$OUT/pytest"
cp -r "$SRC/pytest_project" "$WORK/pt"
cd "$WORK/pt"
for family in xunit1 xunit2 legacy; do
    run "$PY/pytest" -q --continue-on-collection-errors -o junit_family=$family \
        --junitxml="$OUT/pytest/$family.xml"
    normalize "$OUT/pytest/$family.xml"
done
run "$PY/pytest" -q --continue-on-collection-errors -o junit_family=xunit2 \
    -o junit_logging=all -o junit_log_passing_tests=true -o junit_suite_name=logging \
    --junitxml="$OUT/pytest/xunit2-logging.xml"
normalize "$OUT/pytest/xunit2-logging.xml"
run "$PY/pytest" -q --continue-on-collection-errors -o junit_family=xunit1 \
    --junit-prefix=pre --junitxml="$OUT/pytest/xunit1-prefix.xml"
normalize "$OUT/pytest/xunit1-prefix.xml"
run "$PY/pytest" -q --continue-on-collection-errors -n 2 -o junit_family=xunit2 \
    --junitxml="$OUT/pytest/xdist.xml"
normalize "$OUT/pytest/xdist.xml"
# The node ids pytest itself prints: what the pytest module must reproduce.
"$PY/pytest" --collect-only -q --continue-on-collection-errors 2>/dev/null \
    | grep '::' > "$OUT/pytest/collect-only.txt" || true
cd "$WORK"
cp -r "$SRC/pytest_flaky" "$WORK/pf"
cd "$WORK/pf"
rm -f "$WORK/flaky-counter"
FLAKY_COUNTER=$WORK/flaky-counter run "$PY/pytest" -q -p no:cacheprovider --reruns 2 \
    -o junit_family=xunit2 --junitxml="$OUT/pytest/rerunfailures.xml"
normalize "$OUT/pytest/rerunfailures.xml"

# ---- pytest-django ----
mkdir -p "$OUT/pytest-django"
cp -r "$SRC/django_project" "$WORK/dj"
cd "$WORK/dj"
run "$PY/pytest" -q -o junit_family=xunit1 --junitxml="$OUT/pytest-django/xunit1.xml"
normalize "$OUT/pytest-django/xunit1.xml"

# ---- unittest-xml-reporting and nose2 ----
mkdir -p "$OUT/unittest-xml-reporting" "$OUT/nose2"
cp -r "$SRC/unittest_project" "$WORK/ut"
cd "$WORK/ut"
run "$PY/python" -m xmlrunner discover -s tests -t . --outsuffix "" --output-file "$OUT/unittest-xml-reporting/report.xml"
normalize "$OUT/unittest-xml-reporting/report.xml"
run "$PY/nose2" -s . --plugin nose2.plugins.junitxml --junit-xml --junit-xml-path "$OUT/nose2/report.xml" tests
normalize "$OUT/nose2/report.xml"

# ---- Robot Framework (xunit output) ----
mkdir -p "$OUT/robotframework"
cp -r "$SRC/robot_project" "$WORK/rf"
cd "$WORK/rf"
run "$PY/robot" --output NONE --report NONE --log NONE --xunit "$OUT/robotframework/xunit.xml" suite.robot
normalize "$OUT/robotframework/xunit.xml"

# ---- behave ----
mkdir -p "$OUT/behave"
cp -r "$SRC/behave_project" "$WORK/bh"
cd "$WORK/bh"
run "$PY/behave" --junit --junit-directory "$WORK/bh/out" --tags=-skip features
cp "$WORK"/bh/out/*.xml "$OUT/behave/features.xml" 2>/dev/null || true
normalize "$OUT/behave/features.xml"

# ---- Node's built-in test runner ----
if command -v node > /dev/null; then
    mkdir -p "$OUT/node"
    cp -r "$SRC/node_project" "$WORK/nd"
    cd "$WORK/nd"
    run node --test --test-reporter=junit --test-reporter-destination="$OUT/node/junit.xml" sample.test.mjs
    normalize "$OUT/node/junit.xml"
fi

# ---- CTest ----
if command -v ctest > /dev/null; then
    mkdir -p "$OUT/ctest"
    cp -r "$SRC/ctest_project" "$WORK/ct"
    cmake -S "$WORK/ct" -B "$WORK/ct/build" > /dev/null
    cd "$WORK/ct/build"
    run ctest --output-junit "$OUT/ctest/junit.xml"
    normalize "$OUT/ctest/junit.xml"
fi

# ---- PHPUnit ----
if command -v phpunit > /dev/null; then
    mkdir -p "$OUT/phpunit"
    cp -r "$SRC/phpunit_project" "$WORK/php"
    cd "$WORK/php"
    run phpunit --log-junit "$OUT/phpunit/junit.xml" tests
    normalize "$OUT/phpunit/junit.xml"
fi

# ---- cargo-nextest (retries produce flakyFailure) ----
if cargo nextest --version > /dev/null 2>&1; then
    mkdir -p "$OUT/nextest"
    cp -r "$SRC/nextest_project" "$WORK/nx"
    cd "$WORK/nx"
    rm -f "${TMPDIR:-/tmp}/nextest-flaky-nextest-fixture"
    CARGO_TARGET_DIR=$WORK/nx/target run cargo nextest run --profile ci --run-ignored all
    cp "$WORK/nx/target/nextest/ci/junit.xml" "$OUT/nextest/junit.xml"
    rm -f "${TMPDIR:-/tmp}/nextest-flaky-nextest-fixture"
    normalize "$OUT/nextest/junit.xml"
fi

echo "fixtures written under $OUT" >&2
