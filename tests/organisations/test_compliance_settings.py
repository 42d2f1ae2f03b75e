"""Schools set their own compliance deadlines and careers leader; the checklist follows them."""

from __future__ import annotations

from portal.core.models import AuditEvent
from portal.extensions import db
from tests.factories import make_school, make_user

SETTINGS = {"risk_assessment_due_days": "14", "insurance_due_days": "12", "dbs_due_days": "7",
            "consent_due_days": "3", "briefing_due_days": "2", "reflection_flag_days": "21"}


def test_staff_change_the_deadlines_and_choose_a_careers_leader(login):
    school = make_school()
    staff = make_user("school", school_id=school.id)
    leader = make_user("school", school_id=school.id, name="Lee Leader")
    response = login(staff).post("/school/settings/compliance",
                                 data={**SETTINGS, "careers_leader_id": str(leader.id)})
    assert response.status_code == 302
    db.session.refresh(school)
    assert (school.risk_assessment_due_days, school.dbs_due_days, school.reflection_flag_days) == (14, 7, 21)
    assert school.careers_leader_id == leader.id
    assert db.session.query(AuditEvent).filter_by(action="compliance_settings_changed", object_id=school.id).count() == 1


def test_a_careers_leader_from_another_school_is_refused(login):
    school = make_school()
    staff = make_user("school", school_id=school.id)
    outsider = make_user("school")
    response = login(staff).post("/school/settings/compliance",
                                 data={**SETTINGS, "careers_leader_id": str(outsider.id)})
    assert response.status_code == 400
    db.session.refresh(school)
    assert school.careers_leader_id is None


def test_deadlines_out_of_range_are_shown_beside_the_field_and_nothing_is_saved(login):
    school = make_school()
    staff = make_user("school", school_id=school.id)
    response = login(staff).post("/school/settings/compliance",
                                 data={**SETTINGS, "risk_assessment_due_days": "-1", "careers_leader_id": "0"})
    assert response.status_code == 400
    assert "Risk assessment reviewed must be between 0 and 60 days" in response.get_data(as_text=True)
    db.session.refresh(school)
    assert school.risk_assessment_due_days == 10


def test_the_form_starts_from_the_schools_current_settings(login):
    school = make_school(consent_due_days=4)
    staff = make_user("school", school_id=school.id)
    page = login(staff).get("/school/settings/compliance").get_data(as_text=True)
    assert 'name="consent_due_days" type="text" value="4"' in page or 'value="4"' in page


def test_the_school_home_links_the_settings_pages_so_the_header_keeps_to_everyday_work(login):
    staff = make_user("school")
    page = login(staff).get("/school").get_data(as_text=True)
    for path in ("/team", "/audit", "/school/settings/compliance", "/dbs"):
        assert f'href="{path}"' in page
    header = page.split('aria-label="Main"')[1].split("</nav>")[0]
    assert "Audit log" not in header and "Bookings" in header
