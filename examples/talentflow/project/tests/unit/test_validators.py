import pytest
from django.core.exceptions import ValidationError

from apps.common import validators

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("value", ["+15550109999", "+442079460958", "+4930123456"])
def test_valid_phone_numbers(value):
    validators.validate_phone(value)


@pytest.mark.parametrize("value", ["5550109999", "+0123456789", "+1", "+1555010999912345", ""])
def test_invalid_phone_numbers_name_the_value(value):
    with pytest.raises(ValidationError) as info:
        validators.validate_phone(value)
    assert repr(value) in info.value.messages[0]


@pytest.mark.parametrize("value", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_known_time_zones(value):
    validators.validate_timezone(value)


@pytest.mark.parametrize("value", ["Mars/Olympus", "", None, "../etc/passwd"])
def test_unknown_time_zones(value):
    with pytest.raises(ValidationError):
        validators.validate_timezone(value)


@pytest.mark.parametrize("value, ok", [(1, True), (5, True), (0, False), (6, False), (True, False), (3.0, False)])
def test_proficiency_scale(value, ok):
    if ok:
        validators.validate_proficiency(value)
    else:
        with pytest.raises(ValidationError):
            validators.validate_proficiency(value)


@pytest.mark.parametrize("value, ok", [(0.25, True), (1, True), (0, False), (1.01, False), ("0.5", False)])
def test_weight_range(value, ok):
    if ok:
        validators.validate_weight(value)
    else:
        with pytest.raises(ValidationError):
            validators.validate_weight(value)


@pytest.mark.parametrize(
    "filename, content_type, ok",
    [
        ("resume.pdf", "application/pdf", True),
        ("Lebenslauf Müller.pdf", "application/pdf", True),
        ("notes.txt", "text/plain", True),
        ("../../etc/passwd", "text/plain", False),
        (".bashrc.txt", "text/plain", False),
        ("resume.exe", "application/pdf", False),
        ("resume.pdf", "application/x-msdownload", False),
    ],
)
def test_document_names(filename, content_type, ok):
    if ok:
        validators.validate_document_name(filename, content_type)
    else:
        with pytest.raises(ValidationError):
            validators.validate_document_name(filename, content_type)
