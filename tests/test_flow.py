"""The heart of the portal end to end through the test client: a careers leader imports a roster,
matches a student with needs, books the place shown, and the employer confirms it."""

from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import select

from portal.bookings.models import Booking
from portal.core.vocab import Role
from portal.extensions import db
from portal.organisations.models import Student
from tests.factories import make_employer, make_offer, make_school, make_user

ROSTER = (
    "student_ref,first_name,last_name,year_group,date_of_birth,send_status,needs,disadvantaged,sector_interests\n"
    "F001,Imani,Okoro,10,2011-05-01,K,quiet_space;step_free_access,yes,healthcare\n"
    "F002,Leo,Grant,10,2011-06-02,N,,no,\n"
)


def test_import_roster_match_book_and_employer_confirms(app, client):
    school = make_school(latitude=53.4809, longitude=-2.2374)
    leader = make_user(Role.SCHOOL, school_id=school.id, email="leader@flow.example")
    employer = make_employer(insurance_expiry=dt.date.today() + dt.timedelta(days=400))
    host = make_user(Role.EMPLOYER, employer_id=employer.id, email="host@flow.example")
    make_offer(employer, title="Ward visit", location=(53.49, -2.2374), features=["quiet_space", "step_free_access"],
               sectors=["healthcare"])
    make_offer(employer, title="No adjustments", location=(53.49, -2.2374))
    db.session.commit()

    assert client.post("/sign-in", data={"email": leader.email, "password": "correct-horse-battery-staple-42"}).status_code == 302
    imported = client.post("/students/import", data={"file": (io.BytesIO(ROSTER.encode()), "roster.csv")},
                           content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "Roster imported" in imported and "2 new" in imported
    imani = db.session.scalars(select(Student).where(Student.student_ref == "F001")).one()

    page = client.get(f"/match?student_id={imani.id}").get_data(as_text=True)
    bookable, _, nearly = page.partition('id="near-misses"')
    assert "Ward visit" in bookable and "No adjustments" not in bookable  # her needs rule the other out
    assert "No adjustments" in nearly and "missing quiet space and step-free access" in nearly  # and say why
    assert "quiet space ✓" in page and "interested in healthcare" in page
    form = re.search(r'<form method="post" action="/bookings/new".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    booked = client.post("/bookings/new", data=fields).get_data(as_text=True)  # exactly what the page submits
    assert "1 booking request sent" in booked
    booking = db.session.scalars(select(Booking).where(Booking.student_id == imani.id)).one()
    assert booking.status == "requested"

    client.post("/sign-out")
    assert client.post("/sign-in", data={"email": host.email, "password": "correct-horse-battery-staple-42"}).status_code == 302
    request_page = client.get(f"/employer/bookings/{booking.id}").get_data(as_text=True)
    assert "Imani" in request_page and "Okoro" not in request_page
    client.post(f"/employer/bookings/{booking.id}", data={"decision": "confirm"})
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "confirmed"
