"""Hub coordinators list their schools and vet employers."""

from __future__ import annotations

from portal.core.vocab import Role
from portal.extensions import db
from portal.organisations.models import Employer
from tests.factories import make_employer, make_user


def test_coordinator_marks_an_employer_vetted_and_can_suspend_it(client, login):
    employer = make_employer(vetting_status="pending", name="Pending Ltd")
    coordinator = make_user(Role.HUB)
    login(coordinator)
    assert "Pending Ltd" in client.get("/hub/employers?status=pending").get_data(as_text=True)
    response = client.post(f"/hub/employers/{employer.id}/vetting", data={"status": "vetted"})
    assert response.status_code == 302
    db.session.expire_all()
    vetted = db.session.get(Employer, employer.id)
    assert vetted.vetting_status == "vetted" and vetted.vetted_by_id == coordinator.id and vetted.vetted_at
    client.post(f"/hub/employers/{employer.id}/vetting", data={"status": "suspended"})
    db.session.expire_all()
    assert db.session.get(Employer, employer.id).vetting_status == "suspended"


def test_an_unknown_vetting_status_is_a_bad_request(client, login):
    employer = make_employer(vetting_status="pending")
    login(make_user(Role.HUB))
    assert client.post(f"/hub/employers/{employer.id}/vetting", data={"status": "owned"}).status_code == 400


def test_employer_staff_cannot_vet_themselves(client, login):
    employer = make_employer(vetting_status="pending")
    login(make_user(Role.EMPLOYER, employer_id=employer.id))
    assert client.post(f"/hub/employers/{employer.id}/vetting", data={"status": "vetted"}).status_code == 403
