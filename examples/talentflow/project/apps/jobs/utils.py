"""Job-side helpers: requirement parsing and summaries."""
from apps.candidates.utils import PROFICIENCY_LABELS, skill_slug


def parse_requirements(text):
    """``"python:4*0.6, sql:3*0.4"`` -> ``[("python", 0.6, 4), ("sql", 0.4, 3)]``.

    Level defaults to 3 and weight to an equal share of what is left.
    """
    items = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        head, _, weight = part.partition("*")
        name, _, level = head.partition(":")
        items.append((skill_slug(name), float(weight) if weight.strip() else None, int(level) if level.strip() else 3))
    given = sum(w for _, w, _ in items if w is not None)
    missing = [i for i, (_, w, _) in enumerate(items) if w is None]
    if missing:
        share = max(1.0 - given, 0.0) / len(missing)
        items = [(s, share if w is None else w, l) for s, w, l in items]
    return items


def requirement_summary(requirements):
    """``[("python", 0.6, 4)]`` -> ``"python (60%, advanced)"``."""
    return ", ".join(
        f"{slug} ({round(weight * 100)}%, {PROFICIENCY_LABELS.get(level, level)})"
        for slug, weight, level in requirements
    )
