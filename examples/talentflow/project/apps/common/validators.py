"""Validators shared by the apps. Each raises ``ValidationError`` naming the bad value."""
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError

_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")
_FILENAME = re.compile(r"^[\w][\w .()-]{0,200}$", re.UNICODE)
ALLOWED_DOCUMENT_TYPES = {
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


def validate_phone(value):
    """E.164 phone numbers (after normalisation): ``+`` and 7-15 digits."""
    if not _PHONE.match(value or ""):
        raise ValidationError(f"{value!r} is not a phone number in E.164 form (+15550100)")


def validate_timezone(value):
    """An IANA time zone name, e.g. ``Europe/Berlin``."""
    if not value or not isinstance(value, str):
        raise ValidationError(f"{value!r} is not a time zone name")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone") from None


def validate_proficiency(value):
    """Skill proficiency on the 1 (beginner) .. 5 (expert) scale."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        raise ValidationError(f"proficiency {value!r} must be an integer from 1 to 5")


def validate_weight(value):
    """Skill weight of a job requirement: a number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValidationError(f"weight {value!r} must be a number greater than 0 and at most 1")


def validate_document_name(filename, content_type):
    """A safe file name whose extension matches an allowed content type."""
    if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
        raise ValidationError(f"file name {filename!r} is not allowed")
    if not _FILENAME.match(filename):
        raise ValidationError(f"file name {filename!r} contains characters that are not allowed")
    expected = ALLOWED_DOCUMENT_TYPES.get(content_type)
    if expected is None:
        raise ValidationError(f"content type {content_type!r} is not accepted")
    if not filename.lower().endswith(expected):
        raise ValidationError(f"file name {filename!r} does not match {content_type} ({expected})")
