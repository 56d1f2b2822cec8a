from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from apps.jobs import matching
from apps.jobs.matching import is_perfect, meets_threshold, rank_applications, skill_fit, weighted_score

pytestmark = pytest.mark.unit

REQS = [("python", 0.5, 4), ("sql", 0.3, 3), ("docker", 0.2, 2)]


@pytest.mark.bug_e1
@pytest.mark.parametrize(
    "requirements, skills",
    [
        (REQS, {"python": 4, "sql": 3, "docker": 2}),
        (REQS, {"python": 5, "sql": 5, "docker": 5}),
        ([("go", 1.0, 5)], {"go": 5}),
        ([("a", 0.1, 1), ("b", 0.2, 2), ("c", 0.7, 3)], {"a": 1, "b": 2, "c": 3}),
    ],
)
def test_perfect_match_scores_exactly_one(requirements, skills):
    score = weighted_score(requirements, skills)
    assert score == 1.0
    assert is_perfect(score)


def test_missing_skill_scores_zero_for_that_requirement():
    assert weighted_score(REQS, {"python": 4, "sql": 3}) == pytest.approx(0.8)


def test_below_required_level_counts_proportionally():
    assert weighted_score([("python", 1.0, 4)], {"python": 2}) == pytest.approx(0.5)


def test_no_requirements_scores_zero():
    assert weighted_score([], {"python": 5}) == 0.0


@pytest.mark.parametrize("proficiency, level, fit", [(None, 3, 0.0), (0, 3, 0.0), (3, 3, 1.0), (5, 3, 1.0), (1, 4, 0.25)])
def test_skill_fit(proficiency, level, fit):
    assert skill_fit(proficiency, level) == pytest.approx(fit)


@pytest.mark.bug_g4
@pytest.mark.parametrize(
    "weights, matched, threshold",
    [((0.1, 0.3), (1,), 0.75), ((0.2, 0.6), (1,), 0.75), ((0.1, 0.2, 0.3), (2,), 0.5)],
)
def test_score_exactly_at_threshold_qualifies(weights, matched, threshold):
    requirements = [(f"s{i}", w, 3) for i, w in enumerate(weights)]
    score = weighted_score(requirements, {f"s{i}": 3 for i in matched})
    assert meets_threshold(score, threshold)


def test_score_below_threshold_does_not_qualify():
    assert not meets_threshold(0.7499, 0.75)
    assert meets_threshold(0.76, 0.75)


@pytest.mark.bug_g4
def test_equal_scores_rank_by_application_time():
    requirements = [("a", 0.1, 3), ("b", 0.2, 3), ("c", 0.3, 3), ("d", 0.4, 3)]
    early = SimpleNamespace(pk=1, created_at=datetime(2025, 1, 1, tzinfo=timezone.utc),
                            match_score=weighted_score(requirements, {"c": 3}))
    late = SimpleNamespace(pk=2, created_at=datetime(2025, 1, 2, tzinfo=timezone.utc),
                           match_score=weighted_score(requirements, {"a": 3, "b": 3}))
    assert [a.pk for a in rank_applications([late, early])] == [1, 2]


def test_higher_score_ranks_first():
    a = SimpleNamespace(pk=1, created_at=datetime(2025, 1, 1, tzinfo=timezone.utc), match_score=0.4)
    b = SimpleNamespace(pk=2, created_at=datetime(2025, 1, 2, tzinfo=timezone.utc), match_score=0.9)
    c = SimpleNamespace(pk=3, created_at=datetime(2025, 1, 3, tzinfo=timezone.utc), match_score=None)
    assert [x.pk for x in rank_applications([a, b, c])] == [2, 1, 3]


def test_rank_key_orders_by_score_then_tie_breaker():
    assert sorted([(0.5, 2), (0.9, 3), (0.5, 1)], key=lambda t: matching.rank_key(*t)) == [(0.9, 3), (0.5, 1), (0.5, 2)]


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("python:4*0.6, sql:3*0.4", [("python", 0.6, 4), ("sql", 0.4, 3)]),
        ("go", [("go", 1.0, 3)]),
        ("rust:5*0.5, c, zig", [("rust", 0.5, 5), ("c", 0.25, 3), ("zig", 0.25, 3)]),
    ],
)
def test_parse_requirements(text, parsed):
    from apps.jobs.utils import parse_requirements

    assert parse_requirements(text) == parsed
