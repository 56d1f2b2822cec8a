"""Role and tenant checks, attacked from every side: lower roles attempting
writes, users reaching into another company, impersonation chains."""
import pytest
from rest_framework.test import APIClient

from apps.candidates.models import Candidate
from apps.jobs.matching import apply_to_job

pytestmark = pytest.mark.security


@pytest.fixture
def rival(other_company, make_candidate):
    return make_candidate(other_company, first_name="Rival", email="rival@globex.example")


@pytest.mark.bug_f4
def test_roles_below_recruiter_cannot_create_candidates(viewer, interviewer, api, db):
    for user in (viewer, interviewer):
        response = api(user).post("/api/candidates/", {"first_name": "X", "email": "x@acme.example"}, format="json")
        assert response.status_code == 403, (user.role, response.content)
    assert not Candidate.objects.exists()


@pytest.mark.bug_f4
def test_recruiter_cannot_delete_candidates(recruiter, company, make_candidate, api, db):
    c = make_candidate(company)
    assert api(recruiter).delete(f"/api/candidates/{c.pk}/").status_code == 403
    assert Candidate.objects.filter(pk=c.pk).exists()


def test_candidate_of_another_company_is_invisible(recruiter, rival, api, db):
    client = api(recruiter)
    assert client.get(f"/api/candidates/{rival.pk}/").status_code == 404
    assert client.patch(f"/api/candidates/{rival.pk}/", {"location": "x"}, format="json").status_code == 404
    rival.refresh_from_db()
    assert rival.location == ""


def test_notes_of_another_companys_candidate_are_invisible(interviewer, rival, api, db):
    client = api(interviewer)
    assert client.get(f"/api/candidates/{rival.pk}/notes/").status_code == 404
    assert client.post(f"/api/candidates/{rival.pk}/notes/", {"body": "hi"}, format="json").status_code == 404
    assert rival.notes.count() == 0


@pytest.mark.bug_f4
def test_impersonated_session_cannot_impersonate_again(admin, recruiter, viewer, api, db):
    """Alice impersonates Rita, then promotes her; the impersonation session now
    carries an admin role but must still not start a second impersonation."""
    session = api(admin).post("/api/auth/impersonate/", {"user_id": recruiter.pk}, format="json")
    assert session.status_code == 200
    as_rita = APIClient()
    as_rita.credentials(HTTP_AUTHORIZATION=f"Bearer {session.json()['access']}")
    assert api(admin).patch(f"/api/auth/users/{recruiter.pk}/role/", {"role": "admin"}, format="json").status_code == 200
    chained = as_rita.post("/api/auth/impersonate/", {"user_id": viewer.pk}, format="json")
    assert chained.status_code == 403, chained.content


@pytest.mark.bug_f4
def test_admin_cannot_impersonate_into_another_company(admin, other_company, make_user, api, db):
    target = make_user(other_company, "recruiter", "gina")
    response = api(admin).post("/api/auth/impersonate/", {"user_id": target.pk}, format="json")
    assert response.status_code == 403


@pytest.mark.bug_f4
def test_admin_cannot_impersonate_another_admin(admin, company, make_user, api, db):
    other_admin = make_user(company, "admin", "adam")
    response = api(admin).post("/api/auth/impersonate/", {"user_id": other_admin.pk}, format="json")
    assert response.status_code == 403


@pytest.mark.bug_f4
def test_recruiter_cannot_impersonate(recruiter, viewer, api, db):
    response = api(recruiter).post("/api/auth/impersonate/", {"user_id": viewer.pk}, format="json")
    assert response.status_code == 403


def test_viewer_cannot_move_applications(viewer, company, make_job, make_candidate, api, db):
    job = make_job(company)
    application = apply_to_job(job.pk, make_candidate(company).pk)
    response = api(viewer).post(f"/api/jobs/applications/{application.pk}/transition/", {"status": "screening"}, format="json")
    assert response.status_code == 403


def test_application_of_another_company_is_invisible(recruiter, other_company, make_job, make_candidate, api, db):
    job = make_job(other_company)
    application = apply_to_job(job.pk, make_candidate(other_company).pk)
    response = api(recruiter).post(f"/api/jobs/applications/{application.pk}/transition/", {"status": "screening"}, format="json")
    assert response.status_code == 404


def test_only_admins_list_users(recruiter, admin, api, db):
    assert api(recruiter).get("/api/auth/users/").status_code == 403
    assert api(admin).get("/api/auth/users/").status_code == 200


def test_user_without_company_is_refused(make_user, company, api, db):
    loner = make_user(company, "admin", "loner")
    loner.company = None
    loner.save(update_fields=["company"])
    from rest_framework.test import APIClient

    from apps.accounts.oauth import mint_access

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mint_access(loner)}")
    assert client.get("/api/candidates/").status_code in (401, 403)


def test_anonymous_requests_are_refused(db):
    from rest_framework.test import APIClient

    for path in ("/api/candidates/", "/api/jobs/", "/api/analytics/summary/", "/api/auth/me/"):
        assert APIClient().get(path).status_code == 401, path
