"""Offer rules without HTTP: status transitions, publishing, sessions, supervisors, insurance, profile."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.dates import local_to_utc
from portal.core.vocab import OfferStatus
from portal.extensions import db
from portal.offers import services
from portal.offers.models import Offer
from tests.factories import make_employer, make_offer, make_session, make_supervisor

NOW = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def _insured_employer(**kw):
    return make_employer(insurance_expiry=kw.pop("insurance_expiry", TODAY + dt.timedelta(days=365)), **kw)


def _session_on(offer, day: dt.date, *, capacity: int = 10):
    start = local_to_utc(dt.datetime.combine(day, dt.time(9, 30)))
    return make_session(offer, starts_at=start, hours=5, capacity=capacity)


def _details(**overrides):
    values = {
        "title": "Ward insight day", "activity_type": "workplace_visit", "delivery_mode": "on_site",
        "year_groups": [10, 11], "sectors": ["healthcare"], "description": "See the wards.",
        "features": {"step_free_access": "Ramp at the side entrance", "quiet_space": ""},
    }
    values.update(overrides)
    return services.OfferDetails(**values)


# --- status transitions -----------------------------------------------------------------


def test_a_draft_with_a_future_session_and_valid_insurance_can_be_published():
    offer = make_offer(_insured_employer(), status="draft", sessions=0)
    _session_on(offer, TODAY + dt.timedelta(days=20))
    assert services.change_status(db.session, offer, OfferStatus.PUBLISHED, now=NOW) is True
    assert offer.status == "published" and offer.published_at == NOW


def test_publishing_needs_a_future_session():
    offer = make_offer(_insured_employer(), status="draft", sessions=0)
    _session_on(offer, TODAY - dt.timedelta(days=3))  # only a past session
    with pytest.raises(services.PublishRefused) as refused:
        services.change_status(db.session, offer, OfferStatus.PUBLISHED, now=NOW)
    assert any("future" in problem for problem in refused.value.problems)
    assert offer.status == "draft"


def test_publishing_needs_insurance_on_record():
    offer = make_offer(make_employer(insurance_expiry=None), status="draft", sessions=0)
    _session_on(offer, TODAY + dt.timedelta(days=20))
    with pytest.raises(services.PublishRefused, match="liability insurance"):
        services.change_status(db.session, offer, OfferStatus.PUBLISHED, now=NOW)


def test_publishing_is_refused_when_the_insurance_has_expired():
    offer = make_offer(_insured_employer(insurance_expiry=TODAY - dt.timedelta(days=1)), status="draft", sessions=0)
    _session_on(offer, TODAY + dt.timedelta(days=20))
    with pytest.raises(services.PublishRefused, match="expired"):
        services.change_status(db.session, offer, OfferStatus.PUBLISHED, now=NOW)


def test_publishing_is_refused_when_the_insurance_expires_before_a_session_day():
    offer = make_offer(_insured_employer(insurance_expiry=TODAY + dt.timedelta(days=10)), status="draft", sessions=0)
    _session_on(offer, TODAY + dt.timedelta(days=5))
    _session_on(offer, TODAY + dt.timedelta(days=11))  # after the expiry
    with pytest.raises(services.PublishRefused, match="before the session"):
        services.change_status(db.session, offer, OfferStatus.PUBLISHED, now=NOW)


def test_insurance_expiring_on_the_session_day_still_covers_it():
    offer = make_offer(_insured_employer(insurance_expiry=TODAY + dt.timedelta(days=10)), status="draft", sessions=0)
    _session_on(offer, TODAY + dt.timedelta(days=10))
    assert services.change_status(db.session, offer, OfferStatus.PUBLISHED, now=NOW)


@pytest.mark.parametrize(("start", "target", "allowed"), [
    ("draft", "paused", False),
    ("published", "paused", True),
    ("paused", "published", True),
    ("published", "draft", False),
    ("paused", "archived", True),
    ("draft", "archived", True),
    ("archived", "published", False),
    ("archived", "paused", False),
])
def test_only_the_allowed_status_transitions_happen(start, target, allowed):
    offer = make_offer(_insured_employer(), status=start, sessions=0)
    _session_on(offer, TODAY + dt.timedelta(days=20))
    if allowed:
        assert services.change_status(db.session, offer, OfferStatus(target), now=NOW) is True
        assert offer.status == target
    else:
        with pytest.raises(services.OfferStateError):
            services.change_status(db.session, offer, OfferStatus(target), now=NOW)
        assert offer.status == start


def test_repeating_a_status_change_is_a_no_op():
    offer = make_offer(_insured_employer(), status="paused", sessions=0)
    assert services.change_status(db.session, offer, OfferStatus.PAUSED, now=NOW) is False
    assert offer.status == "paused"


def test_an_archived_offer_cannot_be_edited():
    offer = make_offer(_insured_employer(), status="archived")
    with pytest.raises(services.OfferError, match="archived"):
        services.update_offer(db.session, offer, _details())


# --- offer details and location ---------------------------------------------------------


def test_a_new_offer_is_a_draft_with_a_generated_reference_and_the_employers_location():
    employer = _insured_employer(postcode="M13 9PL")
    offer = services.create_offer(db.session, employer, _details())
    assert offer.status == "draft"
    assert offer.offer_ref.startswith("OF-") and len(offer.offer_ref) == 11
    assert offer.uses_employer_location and offer.latitude == pytest.approx(53.4669, abs=1e-3)
    assert offer.feature_notes == {"quiet_space": "", "step_free_access": "Ramp at the side entrance"}


def test_an_offer_elsewhere_is_geocoded_from_its_own_postcode():
    offer = services.create_offer(db.session, _insured_employer(postcode="M13 9PL"),
                                  _details(use_employer_location=False, postcode="ls1 1ur"))
    assert offer.postcode == "LS1 1UR"
    assert offer.latitude == pytest.approx(53.80, abs=0.02) and offer.longitude == pytest.approx(-1.55, abs=0.02)


def test_an_unknown_postcode_district_is_an_error_on_the_postcode_field():
    with pytest.raises(services.OfferError) as error:
        services.create_offer(db.session, _insured_employer(),
                              _details(use_employer_location=False, postcode="ZZ9 9ZZ"))
    assert error.value.field == "postcode" and "ZZ9" in str(error.value)


def test_a_virtual_offer_has_no_location():
    offer = services.create_offer(db.session, _insured_employer(), _details(delivery_mode="virtual", postcode="M1 1AE"))
    assert offer.latitude is None and offer.longitude is None and offer.postcode is None


def test_an_offer_needs_a_year_group_and_a_sector():
    with pytest.raises(services.OfferError, match="year group"):
        services.create_offer(db.session, _insured_employer(), _details(year_groups=[]))
    with pytest.raises(services.OfferError, match="sector"):
        services.create_offer(db.session, _insured_employer(), _details(sectors=[]))


def test_editing_features_keeps_notes_of_features_still_offered():
    offer = services.create_offer(db.session, _insured_employer(), _details())
    services.update_offer(db.session, offer, _details(features={"step_free_access": "Ramp at the side entrance",
                                                                "bsl_makaton": "Ask a week ahead"}))
    assert offer.feature_notes == {"bsl_makaton": "Ask a week ahead", "step_free_access": "Ramp at the side entrance"}


def test_moving_the_employer_moves_offers_held_at_its_address():
    employer = _insured_employer(postcode="M13 9PL")
    services.locate_employer(employer, "M13 9PL")
    at_home = services.create_offer(db.session, employer, _details())
    elsewhere = services.create_offer(db.session, employer, _details(use_employer_location=False, postcode="M1 3BN"))
    before = (elsewhere.latitude, elsewhere.longitude)
    services.update_profile(db.session, employer, services.ProfileDetails(sector="healthcare", postcode="LS1 1UR"))
    db.session.refresh(at_home)
    db.session.refresh(elsewhere)
    assert at_home.latitude == pytest.approx(employer.latitude) and employer.latitude == pytest.approx(53.80, abs=0.02)
    assert (elsewhere.latitude, elsewhere.longitude) == before


# --- sessions and supervisors -----------------------------------------------------------


def _session_details(days: int = 10, hours: int = 5, capacity: int = 8, supervisors=()):
    start = NOW + dt.timedelta(days=days)
    return services.SessionDetails(starts_at=start, ends_at=start + dt.timedelta(hours=hours),
                                   capacity=capacity, supervisor_ids=list(supervisors))


def test_a_session_attaches_supervisors_of_the_same_employer():
    employer = _insured_employer()
    offer = make_offer(employer, sessions=0, status="draft")
    supervisor = make_supervisor(employer)
    occurrence = services.add_session(db.session, offer, _session_details(supervisors=[supervisor.id]), now=NOW)
    assert occurrence.supervisors == [supervisor]


def test_a_supervisor_of_another_employer_is_refused():
    offer = make_offer(_insured_employer(), sessions=0, status="draft")
    stranger = make_supervisor(_insured_employer())
    with pytest.raises(services.OfferError, match="your own organisation") as error:
        services.add_session(db.session, offer, _session_details(supervisors=[stranger.id]), now=NOW)
    assert error.value.field == "supervisors"
    assert offer.sessions == []


def test_a_supervisor_id_that_does_not_exist_is_refused():
    offer = make_offer(_insured_employer(), sessions=0, status="draft")
    with pytest.raises(services.OfferError, match="your own organisation"):
        services.add_session(db.session, offer, _session_details(supervisors=[999_999]), now=NOW)


@pytest.mark.parametrize(("details", "message"), [
    (_session_details(days=-1), "future"),
    (_session_details(hours=0), "end after"),
    (_session_details(capacity=0), "at least 1 place"),
])
def test_session_times_and_capacity_are_checked(details, message):
    offer = make_offer(_insured_employer(), sessions=0, status="draft")
    with pytest.raises(services.OfferError, match=message):
        services.add_session(db.session, offer, details, now=NOW)


def test_two_sessions_of_one_offer_cannot_start_at_the_same_time():
    offer = make_offer(_insured_employer(), sessions=0, status="draft")
    services.add_session(db.session, offer, _session_details(), now=NOW)
    with pytest.raises(services.OfferError, match="already has a session"):
        services.add_session(db.session, offer, _session_details(), now=NOW)


def test_a_published_offer_only_takes_sessions_its_insurance_covers():
    offer = make_offer(_insured_employer(insurance_expiry=TODAY + dt.timedelta(days=30)), sessions=0)
    with pytest.raises(services.OfferError, match="insurance"):
        services.add_session(db.session, offer, _session_details(days=40), now=NOW)


def test_the_last_future_session_of_a_published_offer_cannot_be_removed():
    offer = make_offer(_insured_employer(), sessions=0, status="draft")
    only = services.add_session(db.session, offer, _session_details(), now=NOW)
    services.change_status(db.session, offer, OfferStatus.PUBLISHED, now=NOW)
    with pytest.raises(services.OfferError, match="at least one future session"):
        services.remove_session(db.session, only, now=NOW)
    second = services.add_session(db.session, offer, _session_details(days=12), now=NOW)
    services.remove_session(db.session, second, now=NOW)
    assert [s.id for s in db.session.get(Offer, offer.id).sessions] == [only.id]


def test_updating_a_session_refuses_another_employers_supervisor():
    employer = _insured_employer()
    offer = make_offer(employer, sessions=0, status="draft")
    occurrence = services.add_session(db.session, offer, _session_details(), now=NOW)
    stranger = make_supervisor(_insured_employer())
    with pytest.raises(services.OfferError, match="your own organisation"):
        services.update_session(db.session, occurrence, _session_details(supervisors=[stranger.id]), now=NOW)


# --- insurance warning ------------------------------------------------------------------


@pytest.mark.parametrize(("expiry_in_days", "kind", "warned"), [
    (None, "missing", True),
    (-1, "expired", True),
    (0, "expiring", True),
    (30, "expiring", True),
    (31, "valid", False),
])
def test_insurance_warns_when_expired_or_expiring_within_30_days(expiry_in_days, kind, warned):
    expiry = None if expiry_in_days is None else TODAY + dt.timedelta(days=expiry_in_days)
    state = services.insurance_state(make_employer(insurance_expiry=expiry), TODAY)
    assert state.kind == kind and state.needs_attention is warned


# --- the offer's last session start (what searches read instead of the sessions) ---------


def test_adding_changing_and_removing_sessions_keeps_the_last_session_start():
    offer = make_offer(_insured_employer(), sessions=0, status="draft")
    first = services.add_session(db.session, offer, _session_details(days=10), now=NOW)
    later = services.add_session(db.session, offer, _session_details(days=20), now=NOW)
    assert offer.last_session_starts_at == later.starts_at
    services.update_session(db.session, first, _session_details(days=30), now=NOW)
    assert offer.last_session_starts_at == first.starts_at
    services.remove_session(db.session, first, now=NOW)
    assert offer.last_session_starts_at == later.starts_at
    services.remove_session(db.session, later, now=NOW)
    assert offer.last_session_starts_at is None


def test_a_session_with_booked_places_cannot_be_removed_or_shrunk_below_them():
    offer = make_offer(_insured_employer(), sessions=0, status="draft")
    occurrence = services.add_session(db.session, offer, _session_details(capacity=8), now=NOW)
    services.add_session(db.session, offer, _session_details(days=12), now=NOW)
    occurrence.booked = 3
    with pytest.raises(services.OfferError, match="3 places are already booked") as error:
        services.update_session(db.session, occurrence, _session_details(capacity=2), now=NOW)
    assert error.value.field == "capacity"
    with pytest.raises(services.OfferError, match="booked"):
        services.remove_session(db.session, occurrence, now=NOW)
