"""Import, deduplication, profile scores and export, at the service level."""
from datetime import datetime, timezone

import pytest

from apps.candidates import tasks
from apps.candidates.models import Candidate, Document, Note
from apps.jobs.matching import apply_to_job
from apps.jobs.models import Application

pytestmark = pytest.mark.integration


def test_import_reports_bad_rows_with_position(company, db):
    result = tasks.import_rows(company.pk, [
        {"first_name": "Ann", "email": "ann@x.example"},
        {"first_name": "", "email": "nobody@x.example"},
        {"first_name": "Bob", "email": "not-an-email"},
        {"first_name": "Cy", "email": "cy@x.example", "years_experience": "200"},
    ])
    assert result["created"] == 1
    assert [(e["row"], e["error"].split()[0]) for e in result["errors"]] == [(2, "first_name"), (3, "email"), (4, "years_experience")]


def test_import_updates_existing_candidate(company, make_candidate, db):
    existing = make_candidate(company, email="ann@x.example", location="")
    result = tasks.import_rows(company.pk, [{"first_name": "Ann", "email": "ANN@x.example", "location": "Oslo"}])
    assert (result["created"], result["updated"]) == (0, 1)
    existing.refresh_from_db()
    assert existing.location == "Oslo"


def test_import_limit(company, settings, db):
    settings.CANDIDATE_IMPORT_MAX_ROWS = 2
    with pytest.raises(tasks.RowError, match="limit of 2"):
        tasks.import_rows(company.pk, [{}, {}, {}])


def test_import_parses_skill_lists(company, db):
    tasks.import_rows(company.pk, [{"name": "Ada King Lovelace", "email": "ada@x.example", "skills": "Python:5, SQL"}])
    ada = Candidate.objects.get(email_normalized="ada@x.example")
    assert (ada.first_name, ada.last_name) == ("Ada King", "Lovelace")
    assert dict(ada.candidate_skills.values_list("skill__slug", "proficiency")) == {"python": 5, "sql": 3}


def test_deduplicate_merges_into_oldest(company, make_candidate, make_job, recruiter, db):
    first = make_candidate(company, email="dup@x.example", skills={"python": 2})
    second = make_candidate(company, email="DUP@x.example", skills={"python": 4, "go": 3}, phone="+15550100000")
    Candidate.objects.filter(pk=second.pk).update(email_normalized="dup@x.example")
    Note.objects.create(candidate=second, author=recruiter, body="met at conf")
    job = make_job(company)
    apply_to_job(job.pk, second.pk)
    assert tasks.deduplicate_company(company.pk) == 1
    survivor = Candidate.objects.get(company=company)
    assert survivor.pk == first.pk
    assert survivor.phone == "+15550100000"
    assert dict(survivor.candidate_skills.values_list("skill__slug", "proficiency")) == {"go": 3, "python": 4}
    assert survivor.notes.count() == 1
    assert Application.objects.get(job=job).candidate_id == first.pk


def test_deduplicate_keeps_distinct_people(company, make_candidate, db):
    make_candidate(company, email="a@x.example")
    make_candidate(company, email="b@x.example")
    assert tasks.deduplicate_company(company.pk) == 0
    assert Candidate.objects.filter(company=company).count() == 2


def test_deduplicate_all_covers_every_company(company, other_company, make_candidate, db):
    for c in (company, other_company):
        make_candidate(c, email="same@x.example")
        make_candidate(c, email="same2@x.example")
    assert tasks.deduplicate_all() == {str(company.pk): 0, str(other_company.pk): 0}


# --------------------------------------------------------------- F2: scores


@pytest.mark.bug_f2
def test_profile_score_of_a_graduate(company, make_candidate, db):
    grad = make_candidate(company, years_experience=0, skills={"python": 3})
    assert tasks.profile_score(grad) == 0 + 6 + 5


@pytest.mark.bug_f2
def test_graduate_scores_below_one_year_of_experience(company, make_candidate, db):
    grad = make_candidate(company, years_experience=0, skills={"python": 3})
    junior = make_candidate(company, years_experience=1, skills={"python": 3})
    assert tasks.rescore_company(company.pk) == [junior.pk, grad.pk]
    grad.refresh_from_db()
    junior.refresh_from_db()
    assert junior.profile_score - grad.profile_score == 2


@pytest.mark.bug_f2
def test_score_task_stores_graduate_score(company, make_candidate, db):
    grad = make_candidate(company, years_experience=0, phone="+15550100000", location="Lagos")
    assert tasks.score_candidate_profile(grad.pk) == 15.0
    grad.refresh_from_db()
    assert grad.profile_score == 15.0


@pytest.mark.parametrize(
    "years, expected_experience",
    [(None, 2), (1, 2), (7, 14), (15, 30), (40, 30)],
)
def test_profile_score_experience_points(years, expected_experience, company, make_candidate, db):
    c = make_candidate(company, years_experience=years)
    assert tasks.profile_score(c) == expected_experience + 5


def test_profile_score_caps_skill_points(company, make_candidate, db):
    c = make_candidate(company, years_experience=2, skills={f"s{i}": 5 for i in range(8)})
    assert tasks.profile_score(c) == 4 + 50 + 5


def test_profile_score_counts_documents(company, make_candidate, db):
    c = make_candidate(company, years_experience=2)
    Document.objects.create(candidate=c, filename="cv.pdf", content_type="application/pdf", size=3, sha256="x", content=b"abc")
    assert tasks.profile_score(c) == 4 + 5 + 5


# ----------------------------------------------------------- G2, G3: export


def _export_rows(company):
    text = tasks.export_candidates_csv(company.pk).decode("utf-8")
    return [line.split(",") for line in text.strip().split("\n")]


@pytest.mark.bug_g2
def test_export_dates_are_iso(company, make_candidate, db):
    c = make_candidate(company)
    Candidate.objects.filter(pk=c.pk).update(created_at=datetime(2024, 12, 31, 23, 30, tzinfo=timezone.utc))
    header, row = _export_rows(company)
    assert row[header.index("created")] == "2024-12-31"


@pytest.mark.bug_g2
def test_export_date_formatting_unit():
    assert tasks._export_date(datetime(2025, 2, 3, 10, 0, tzinfo=timezone.utc)) == "2025-02-03"


@pytest.mark.bug_g3
def test_export_keeps_international_names(company, make_candidate, db):
    make_candidate(company, first_name="Zoë", last_name="Ångström")
    make_candidate(company, first_name="李", last_name="小龍")
    text = tasks.export_candidates_csv(company.pk).decode("utf-8")
    assert "Zoë,Ångström" in text and "李,小龍" in text


@pytest.mark.bug_g3
def test_export_task_round_trips_names(company, make_candidate, db):
    make_candidate(company, first_name="Søren", last_name="Kierkegård")
    result = tasks.export_candidates(company.pk)
    assert "Søren,Kierkegård" in result["csv"]
    assert result["size"] == len(result["csv"].encode("utf-8"))


def test_export_lists_skills(company, make_candidate, db):
    make_candidate(company, skills={"python": 5, "go": 2})
    header, row = _export_rows(company)
    assert row[header.index("skills")] == "go:2;python:5"
