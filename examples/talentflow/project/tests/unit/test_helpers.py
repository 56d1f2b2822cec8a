import pytest

from apps.common import helpers
from apps.common.helpers import chunked, normalize_email, normalize_phone, slugify_name, split_full_name, unique_by

pytestmark = pytest.mark.unit


@pytest.mark.bug_s6
@pytest.mark.parametrize(
    "raw, expected",
    [("  Ada@Example.COM ", "ada@example.com"), ("bob+jobs@x.io", "bob+jobs@x.io"), (None, ""), ("", "")],
)
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("(555) 010-9999", "+15550109999"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0049 30 1234567", "+49301234567"),
        ("", ""),
        ("555.010.1234", "+15550101234"),
    ],
)
def test_normalize_phone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.bug_s6
@pytest.mark.parametrize(
    "name, slug",
    [("Zoë Ångström", "zoe-angstrom"), ("Node.js", "node-js"), ("  C++ / C# ", "c-c"), ("Łukasz", "ukasz")],
)
def test_slugify_name(name, slug):
    assert slugify_name(name) == slug


@pytest.mark.parametrize(
    "full, parts",
    [("Ada King Lovelace", ("Ada King", "Lovelace")), ("Cher", ("Cher", "")), ("", ("", "")), ("  Li   Na ", ("Li", "Na"))],
)
def test_split_full_name(full, parts):
    assert split_full_name(full) == parts


def test_chunked_splits_in_order():
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_chunked_rejects_zero_size():
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([1], 0))


def test_unique_by_keeps_first():
    assert unique_by(["a", "B", "b", "A", "c"], str.lower) == ["a", "B", "c"]


@pytest.mark.bug_s6
def test_package_exports_the_helpers():
    assert helpers.normalize_phone("(555) 010-9999") == "+15550109999"
    assert helpers.chunked is chunked
    assert sorted(helpers.__all__) == sorted(
        ["chunked", "normalize_email", "normalize_phone", "slugify_name", "split_full_name", "unique_by"]
    )
