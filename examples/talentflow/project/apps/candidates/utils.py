"""Candidate-side helpers shared with the jobs app (which imports from here)."""
from apps.common.helpers.text import slugify_name

PROFICIENCY_LABELS = {1: "beginner", 2: "novice", 3: "intermediate", 4: "advanced", 5: "expert"}

from apps.jobs.utils import parse_requirements  # noqa: E402


def skill_slug(name):
    """Canonical key of a skill name: ``"Node.js"`` -> ``"node-js"``."""
    return slugify_name(name)


def parse_skill_list(text):
    """``"Python:5, SQL:3, Go"`` -> ``{"python": 5, "sql": 3, "go": 3}`` (default level 3)."""
    result = {}
    for slug, _, proficiency in parse_requirements(text):
        if not 1 <= proficiency <= 5:
            raise ValueError(f"skill {slug!r}: proficiency {proficiency} is not between 1 and 5")
        result[slug] = proficiency
    return result


def display_name(candidate):
    return f"{candidate.first_name} {candidate.last_name}".strip()
