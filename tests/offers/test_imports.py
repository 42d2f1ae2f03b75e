"""Employer and offer CSV imports: every error kind, all-or-nothing, re-import updates, dry run, CLI, upload."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from portal.core.csvimport import ImportFailed
from portal.core.vocab import Role
from portal.extensions import db
from portal.offers.imports import import_employers, import_offers
from portal.offers.models import Offer, OfferFeature, OfferSession
from portal.organisations.models import Employer
from tests.factories import make_employer, make_offer, make_user

NEXT_YEAR = dt.date.today().year + 1
EMPLOYERS_HEADER = "employer_ref,name,sector,postcode,safeguarding_email,insurance_expiry"
OFFERS_HEADER = ("offer_ref,employer_ref,title,activity_type,delivery_mode,postcode,year_groups,sectors,"
                 "send_features,session_start,session_end,capacity")


def _csv(header: str, *rows: str) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _employer_row(ref="ACME", name="Acme Engineering", sector="engineering_maintenance", postcode="M17 1AB",
                  email="lead@acme.example", expiry=f"{NEXT_YEAR}-12-31") -> str:
    return f"{ref},{name},{sector},{postcode},{email},{expiry}"


def _offer_row(ref="OF-1", employer="ACME", title="Workshop visit", activity="workplace_visit", mode="on_site",
               postcode="", years="10;11", sectors="engineering_maintenance", features="step_free_access;quiet_space",
               start=f"{NEXT_YEAR}-03-10T09:30", end=f"{NEXT_YEAR}-03-10T15:00", capacity="12") -> str:
    return f"{ref},{employer},{title},{activity},{mode},{postcode},{years},{sectors},{features},{start},{end},{capacity}"


def _errors(action, data: bytes) -> set[tuple[int, str]]:
    with pytest.raises(ImportFailed) as failure:
        action(db.session, data)
    return {(error.line, error.column) for error in failure.value.errors}


@pytest.fixture
def acme():
    """An employer the offer rows can refer to, insured through next year."""
    import_employers(db.session, _csv(EMPLOYERS_HEADER, _employer_row()))
    return db.session.scalars(select(Employer).where(Employer.ref == "ACME")).one()


# --- employers --------------------------------------------------------------------------


def test_employers_are_created_geocoded_and_await_vetting():
    report = import_employers(db.session, _csv(EMPLOYERS_HEADER, _employer_row(),
                                               _employer_row("BOLT", "Bolt Law", "law_legal", "m3 3eb", "", "")))
    assert (report.created, report.updated) == (2, 0)
    acme = db.session.scalars(select(Employer).where(Employer.ref == "ACME")).one()
    assert acme.latitude == pytest.approx(53.46, abs=0.03) and acme.vetting_status == "pending"
    assert acme.insurance_expiry == dt.date(NEXT_YEAR, 12, 31) and acme.safeguarding_lead_email == "lead@acme.example"
    bolt = db.session.scalars(select(Employer).where(Employer.ref == "BOLT")).one()
    assert bolt.postcode == "M3 3EB" and bolt.insurance_expiry is None


def test_reimporting_employers_updates_and_never_duplicates():
    data = _csv(EMPLOYERS_HEADER, _employer_row())
    import_employers(db.session, data)
    again = import_employers(db.session, data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = import_employers(db.session, _csv(EMPLOYERS_HEADER, _employer_row(name="Acme Ltd", postcode="LS1 1UR")))
    assert (changed.created, changed.updated) == (0, 1)
    rows = db.session.scalars(select(Employer).where(Employer.ref == "ACME")).all()
    assert len(rows) == 1 and rows[0].name == "Acme Ltd" and rows[0].latitude == pytest.approx(53.80, abs=0.02)


def test_moving_an_imported_employer_moves_its_offers_at_its_address(acme):
    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row()))
    import_employers(db.session, _csv(EMPLOYERS_HEADER, _employer_row(postcode="LS1 1UR")))
    offer = db.session.scalars(select(Offer).where(Offer.offer_ref == "OF-1")).one()
    assert offer.latitude == pytest.approx(53.80, abs=0.02)


def test_every_bad_employer_row_is_reported_and_nothing_is_written():
    data = _csv(
        EMPLOYERS_HEADER,
        _employer_row("GOOD"),
        _employer_row("BAD1", sector="plumbing"),  # unknown code
        _employer_row("BAD2", postcode="not-a-postcode"),  # invalid postcode
        _employer_row("BAD3", postcode="ZZ9 9ZZ"),  # unknown district
        _employer_row("BAD4", expiry="31/12/2027"),  # wrong date format
        _employer_row("BAD5", email="not-an-email"),
        _employer_row("GOOD"),  # duplicate reference
        _employer_row("BAD6", name=""),
    )
    assert _errors(import_employers, data) == {
        (3, "sector"), (4, "postcode"), (5, "postcode"), (6, "insurance_expiry"), (7, "safeguarding_email"),
        (8, "employer_ref"), (9, "name"),
    }
    assert _count(Employer) == 0


def test_a_missing_column_is_reported_on_the_header_line():
    assert _errors(import_employers, _csv("employer_ref,name,sector,postcode", "A,B,healthcare,M1 3BN")) == {
        (1, "safeguarding_email"), (1, "insurance_expiry")}


# --- offers -----------------------------------------------------------------------------


def test_offer_rows_sharing_a_reference_make_one_offer_with_its_sessions(acme):
    report = import_offers(db.session, _csv(
        OFFERS_HEADER,
        _offer_row(),
        _offer_row(start=f"{NEXT_YEAR}-03-17T09:30", end=f"{NEXT_YEAR}-03-17T15:00", capacity="8"),
        _offer_row("OF-2", title="Online mentoring", activity="mentoring", mode="virtual", features=""),
    ))
    assert report.created == 2
    offer = db.session.scalars(select(Offer).where(Offer.offer_ref == "OF-1")).one()
    assert [s.capacity for s in offer.sessions] == [12, 8]
    assert offer.uses_employer_location and offer.latitude == pytest.approx(acme.latitude)
    assert offer.feature_codes == ["quiet_space", "step_free_access"] and offer.year_group_numbers == [10, 11]
    assert offer.status == "published"  # a future session, and the insurance covers it
    assert offer.sessions[0].starts_at == dt.datetime(NEXT_YEAR, 3, 10, 9, 30, tzinfo=dt.UTC)  # GMT in March
    virtual = db.session.scalars(select(Offer).where(Offer.offer_ref == "OF-2")).one()
    assert virtual.latitude is None and virtual.delivery_mode == "virtual"


def test_session_times_are_read_as_uk_local_time(acme):
    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row(start=f"{NEXT_YEAR}-06-10T09:30",
                                                             end=f"{NEXT_YEAR}-06-10T15:00")))
    session = db.session.scalars(select(OfferSession)).one()
    assert session.starts_at == dt.datetime(NEXT_YEAR, 6, 10, 8, 30, tzinfo=dt.UTC)  # BST is UTC+1


def test_an_offer_at_another_postcode_is_geocoded_from_it(acme):
    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row(postcode="LS1 1UR")))
    offer = db.session.scalars(select(Offer)).one()
    assert not offer.uses_employer_location and offer.postcode == "LS1 1UR"
    assert offer.latitude == pytest.approx(53.80, abs=0.02)


def test_new_offers_the_insurance_does_not_cover_stay_drafts():
    import_employers(db.session, _csv(EMPLOYERS_HEADER, _employer_row(expiry=f"{NEXT_YEAR}-01-01")))
    report = import_offers(db.session, _csv(OFFERS_HEADER, _offer_row()))  # session in March
    assert db.session.scalars(select(Offer)).one().status == "draft"
    assert any("drafts" in note for note in report.notes)


def test_every_kind_of_bad_offer_row_is_reported_with_line_and_column(acme):
    data = _csv(
        OFFERS_HEADER,
        _offer_row("OK-1"),
        _offer_row("E-1", activity="juggling"),  # unknown activity code
        _offer_row("E-2", features="step_free_access;jetpack"),  # unknown SEND feature
        _offer_row("E-3", postcode="XYZ"),  # invalid postcode
        _offer_row("E-4", postcode="ZZ9 9ZZ"),  # unknown postcode district
        _offer_row("E-5", end=f"{NEXT_YEAR}-03-10T08:00"),  # ends before it starts
        _offer_row("E-6", capacity="0"),  # capacity below 1
        _offer_row("E-7", employer="NOBODY"),  # missing employer
        _offer_row("E-8", years="6;10"),  # year group out of range
        _offer_row("E-9", mode="virtual", postcode="M1 3BN"),  # a virtual offer with a postcode
        _offer_row("E-10", start="next tuesday"),  # not a date and time
        _offer_row("E-11", sectors=""),  # no sector
    )
    assert _errors(import_offers, data) == {
        (3, "activity_type"), (4, "send_features"), (5, "postcode"), (6, "postcode"), (7, "session_end"),
        (8, "capacity"), (9, "employer_ref"), (10, "year_groups"), (11, "postcode"), (12, "session_start"),
        (13, "sectors"),
    }
    assert _count(Offer) == 0 and _count(OfferSession) == 0


def test_rows_of_one_offer_that_disagree_are_errors(acme):
    data = _csv(
        OFFERS_HEADER,
        _offer_row(),
        _offer_row(title="Another title", start=f"{NEXT_YEAR}-03-11T09:30", end=f"{NEXT_YEAR}-03-11T15:00"),
        _offer_row(years="12", start=f"{NEXT_YEAR}-03-12T09:30", end=f"{NEXT_YEAR}-03-12T15:00"),
        _offer_row(),  # the same session twice
    )
    assert _errors(import_offers, data) == {(3, "title"), (4, "year_groups"), (5, "session_start")}
    assert _count(Offer) == 0


def test_an_offer_reference_of_another_employer_is_refused(acme):
    make_offer(make_employer(), offer_ref="TAKEN")
    assert _errors(import_offers, _csv(OFFERS_HEADER, _offer_row("TAKEN"))) == {(2, "offer_ref")}


def test_reimporting_offers_updates_and_never_duplicates(acme):
    first = _csv(OFFERS_HEADER, _offer_row(), _offer_row(start=f"{NEXT_YEAR}-03-17T09:30",
                                                         end=f"{NEXT_YEAR}-03-17T15:00"))
    import_offers(db.session, first)
    offer = db.session.scalars(select(Offer)).one()
    db.session.execute(OfferFeature.__table__.update().where(OfferFeature.feature == "quiet_space")
                       .values(note="Room 2 is kept free"))
    again = import_offers(db.session, first)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    changed = import_offers(db.session, _csv(
        OFFERS_HEADER,
        _offer_row(title="Workshop day", features="quiet_space;bsl_makaton", capacity="20"),
        _offer_row(title="Workshop day", features="quiet_space;bsl_makaton",
                   start=f"{NEXT_YEAR}-03-24T09:30", end=f"{NEXT_YEAR}-03-24T15:00"),
    ))
    assert (changed.created, changed.updated) == (0, 1)
    assert _count(Offer) == 1 and _count(OfferSession) == 3  # the 17 March session is kept
    db.session.expire_all()
    offer = db.session.get(Offer, offer.id)
    assert offer.title == "Workshop day"
    assert [s.capacity for s in offer.sessions] == [20, 12, 12]
    assert offer.feature_notes == {"bsl_makaton": "", "quiet_space": "Room 2 is kept free"}


def test_dry_run_reports_but_writes_nothing(acme):
    report = import_offers(db.session, _csv(OFFERS_HEADER, _offer_row()), dry_run=True)
    assert report.dry_run and report.created == 1
    assert _count(Offer) == 0 and _count(OfferSession) == 0
    employers = import_employers(db.session, _csv(EMPLOYERS_HEADER, _employer_row("NEW")), dry_run=True)
    assert employers.created == 1 and _count(Employer) == 1


# --- command line and browser -----------------------------------------------------------


def test_cli_imports_and_exits_non_zero_on_bad_rows(app, tmp_path):
    runner = app.test_cli_runner()
    employers = tmp_path / "employers.csv"
    employers.write_bytes(_csv(EMPLOYERS_HEADER, _employer_row()))
    offers = tmp_path / "offers.csv"
    offers.write_bytes(_csv(OFFERS_HEADER, _offer_row(), _offer_row("OF-BAD", capacity="0")))

    dry = runner.invoke(args=["import", "employers", str(employers), "--dry-run"])
    assert dry.exit_code == 0 and "Would import: 1 new" in dry.output
    assert _count(Employer) == 0
    done = runner.invoke(args=["import", "employers", str(employers)])
    assert done.exit_code == 0 and "Imported: 1 new" in done.output

    bad = runner.invoke(args=["import", "offers", str(offers)])
    assert bad.exit_code == 1
    assert "line 3, column capacity: must be at least 1" in bad.output
    assert _count(Offer) == 0

    offers.write_bytes(_csv(OFFERS_HEADER, _offer_row()))
    good = runner.invoke(args=["import", "offers", str(offers)])
    assert good.exit_code == 0 and _count(Offer) == 1


def test_upload_shows_every_problem_in_a_table_and_writes_nothing(login):
    client = login(make_user(Role.HUB))
    data = _csv(EMPLOYERS_HEADER, _employer_row(), _employer_row("X", sector="plumbing"))
    response = client.post("/hub/import", data={"kind": "employers", "file": (io.BytesIO(data), "employers.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303 and "/hub/import/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported: 1 problem" in page and "unknown code &#39;plumbing&#39;" in page
    assert _count(Employer) == 0


def test_upload_imports_a_good_file(login):
    client = login(make_user(Role.HUB))
    assert client.get("/hub/import").status_code == 200
    data = _csv(EMPLOYERS_HEADER, _employer_row())
    dry = client.post("/hub/import", data={"kind": "employers", "dry_run": "y",
                                           "file": (io.BytesIO(data), "employers.csv")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert dry.status_code == 200 and "Would import: 1 new" in dry.get_data(as_text=True)
    assert _count(Employer) == 0
    done = client.post("/hub/import", data={"kind": "employers", "file": (io.BytesIO(data), "employers.csv")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert done.status_code == 200 and "Imported: 1 new" in done.get_data(as_text=True)
    assert _count(Employer) == 1


def test_another_hub_cannot_see_an_import_job(client, login):
    first = make_user(Role.HUB)
    login(first)
    data = _csv(EMPLOYERS_HEADER, _employer_row())
    location = client.post("/hub/import", data={"kind": "employers", "file": (io.BytesIO(data), "employers.csv")},
                           content_type="multipart/form-data").headers["Location"]
    assert client.get(location + ".json").get_json()["status"] == "succeeded"
    login(make_user(Role.HUB))
    assert client.get(location).status_code == 404
    assert client.get(location + ".json").status_code == 404


def test_only_hub_coordinators_may_import(login):
    assert login(make_user(Role.SCHOOL)).get("/hub/import").status_code == 403
    assert login(make_user(Role.EMPLOYER)).get("/hub/import").status_code == 403


def test_new_sessions_of_an_existing_offer_make_it_searchable_again(acme):
    from portal.offers.search import OfferQuery, search_offers

    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row()))
    offer = db.session.scalars(select(Offer)).one()
    acme.vetting_status = "vetted"
    later = f"{NEXT_YEAR}-09-01"
    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row(start=f"{later}T09:30", end=f"{later}T15:00")))
    db.session.expire_all()
    offer = db.session.get(Offer, offer.id)
    assert offer.last_session_starts_at == max(s.starts_at for s in offer.sessions)
    assert offer.id in [item.offer.id for item in search_offers(db.session, OfferQuery()).items]


def test_reimport_cannot_cut_capacity_below_booked_places(acme):
    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row(capacity="12")))
    db.session.scalars(select(OfferSession)).one().booked = 5
    db.session.flush()
    assert _errors(import_offers, _csv(OFFERS_HEADER, _offer_row(capacity="4"))) == {(2, "capacity")}
