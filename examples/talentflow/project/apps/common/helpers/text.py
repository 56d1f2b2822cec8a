"""Text normalisation."""
import re
import unicodedata


def normalize_email(email):
    """Lower-case, trimmed e-mail address; Gmail-style ``+tags`` are kept."""
    if email is None:
        return ""
    return email.strip().lower()


def normalize_phone(raw, default_country_code="1"):
    """Digits of a phone number in E.164 form: ``(555) 010-9999`` -> ``+15550109999``."""
    if not raw:
        return ""
    raw = raw.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        return "+" + digits
    if raw.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 10:
        return "+" + default_country_code + digits
    return "+" + digits


def slugify_name(name):
    """ASCII slug of a (possibly international) name: ``Zoë Ångström`` -> ``zoe-angstrom``."""
    folded = unicodedata.normalize("NFKD", name or "")
    ascii_only = folded.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")


def split_full_name(full_name):
    """``"Ada King Lovelace"`` -> ``("Ada King", "Lovelace")``."""
    parts = (full_name or "").split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    return " ".join(parts[:-1]), parts[-1]
