"""Candidate-side helpers shared with the jobs app (which imports from here)."""
from apps.common.helpers import slugify_name

PROFICIENCY_LABELS = {1: "beginner", 2: "novice", 3: "intermediate", 4: "advanced", 5: "expert"}


def skill_slug(name):
    """Canonical key of a skill name: ``"Node.js"`` -> ``"node-js"``."""
    return slugify_name(name)


def parse_skill_list(text):
    """``"Python:5, SQL:3, Go"`` -> ``{"python": 5, "sql": 3, "go": 3}`` (default level 3)."""
    result = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, _, level = part.partition(":")
        level = level.strip()
        proficiency = int(level) if level.isdigit() else 3
        if not 1 <= proficiency <= 5:
            raise ValueError(f"skill {name.strip()!r}: proficiency {proficiency} is not between 1 and 5")
        result[skill_slug(name)] = proficiency
    return result


def display_name(candidate):
    return f"{candidate.first_name} {candidate.last_name}".strip()
