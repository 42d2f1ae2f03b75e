"""Offer rules: the employer profile, offers and their sessions, status changes and supervisors.

Plain functions taking a database session; they never commit (the view or command does).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from portal.core.batches import chunked
from portal.core.dates import format_date, london_date
from portal.core.ids import get_stored
from portal.core.refusals import FieldRefusal
from portal.core.vocab import (
    YEAR_GROUPS,
    AccessFeature,
    ActivityType,
    DeliveryMode,
    DisabilityConfident,
    InsuranceCover,
    MeaningfulCriterion,
    OfferStatus,
    Sector,
)
from portal.db import DbSession, utcnow
from portal.geo.locate import PostcodeProblem, locate, place
from portal.offers.models import (
    Offer,
    OfferCriterion,
    OfferFeature,
    OfferSector,
    OfferSession,
    OfferYearGroup,
    Supervisor,
)
from portal.organisations.models import Employer

INSURANCE_WARNING_DAYS = 30
OFFER_REF_PREFIX = "OF-"


class OfferError(FieldRefusal):
    """A rule about offers was broken; the message is for the person, field names the form field."""

    code_for_class = "invalid_offer"


class PublishRefused(OfferError):
    """The offer cannot be published yet; problems lists every reason."""

    code_for_class = "not_publishable"

    def __init__(self, problems: list[str]) -> None:
        """Keep each reason so a page can list them."""
        super().__init__(" ".join(problems))
        self.problems = problems


# --- employer profile -------------------------------------------------------------------


@dataclass
class ProfileDetails:
    """What an employer says about itself."""

    sector: str
    postcode: str
    address: str | None = None
    safeguarding_lead_name: str | None = None
    safeguarding_lead_email: str | None = None
    safeguarding_lead_phone: str | None = None
    insurer: str | None = None
    insurance_expiry: dt.date | None = None
    disability_confident: str = DisabilityConfident.NONE.value
    autism_trained_staff: bool = False


def locate_employer(employer: Employer, postcode: str) -> None:
    """Set the employer's postcode and map position; raises OfferError on the postcode field."""
    try:
        location = locate(postcode)
    except PostcodeProblem as problem:
        raise OfferError(str(problem), "postcode") from None
    employer.postcode = location.postcode
    place(employer, location)


def update_profile(session: DbSession, employer: Employer, details: ProfileDetails) -> None:
    """Save the employer's profile; offers held at the employer's address move with it."""
    Sector(details.sector)
    DisabilityConfident(details.disability_confident)
    moved = details.postcode != employer.postcode or employer.latitude is None
    if moved:
        locate_employer(employer, details.postcode)
    employer.sector = details.sector
    employer.address = details.address or None
    employer.safeguarding_lead_name = details.safeguarding_lead_name or None
    employer.safeguarding_lead_email = details.safeguarding_lead_email or None
    employer.safeguarding_lead_phone = details.safeguarding_lead_phone or None
    employer.insurer = details.insurer or None
    employer.insurance_expiry = details.insurance_expiry
    employer.disability_confident = details.disability_confident
    employer.autism_trained_staff = details.autism_trained_staff
    if moved:
        session.flush()
        session.execute(
            update(Offer)
            .where(Offer.employer_id == employer.id, Offer.uses_employer_location.is_(True),
                   Offer.delivery_mode != DeliveryMode.VIRTUAL.value)
            .values(latitude=employer.latitude, longitude=employer.longitude,
                    location_approximate=employer.location_approximate)
            .execution_options(synchronize_session="fetch")
        )


@dataclass(frozen=True)
class InsuranceState:
    """Whether the employer's liability insurance is recorded, current, expiring soon or expired."""

    kind: InsuranceCover
    expiry: dt.date | None
    days_left: int | None

    @property
    def needs_attention(self) -> bool:
        """Whether the employer should be warned."""
        return self.kind != InsuranceCover.VALID

    @property
    def message(self) -> str:
        """The warning (or reassurance) in words."""
        if self.kind == InsuranceCover.MISSING or self.expiry is None:
            return "Add your employer's liability insurance: offers cannot be published without it."
        if self.kind == InsuranceCover.EXPIRED:
            return (f"Your employer's liability insurance expired on {format_date(self.expiry)}. "
                    "Update the expiry date: offers cannot be published while it has expired.")
        if self.kind == InsuranceCover.EXPIRING:
            when = "today" if self.days_left == 0 else f"in {self.days_left} day{'s' if self.days_left != 1 else ''}"
            return (f"Your employer's liability insurance expires {when}, on {format_date(self.expiry)}. "
                    "Renew it and update the expiry date so that schools can keep booking.")
        return f"Your employer's liability insurance is valid until {format_date(self.expiry)}."


def insurance_state(employer: Employer, today: dt.date) -> InsuranceState:
    """Classify the insurance: expired, or expiring within 30 days, gets a warning."""
    expiry = employer.insurance_expiry
    if expiry is None:
        return InsuranceState(InsuranceCover.MISSING, None, None)
    days_left = (expiry - today).days
    if days_left < 0:
        return InsuranceState(InsuranceCover.EXPIRED, expiry, days_left)
    if days_left <= INSURANCE_WARNING_DAYS:
        return InsuranceState(InsuranceCover.EXPIRING, expiry, days_left)
    return InsuranceState(InsuranceCover.VALID, expiry, days_left)


def insurance_covers(employer: Employer, starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
    """Whether the insurance is valid on every day (London time) of a session."""
    return employer.insurance_valid_on(london_date(max(starts_at, ends_at)))


# --- offers -----------------------------------------------------------------------------


@dataclass
class OfferDetails:
    """What an employer says about an offer."""

    title: str
    activity_type: str
    delivery_mode: str
    year_groups: list[int]
    sectors: list[str]
    description: str = ""
    use_employer_location: bool = True
    postcode: str | None = None
    learning_outcomes: str = ""
    preparation: str = ""
    travel_notes: str = ""
    supporting_adults_max: int = 0
    features: dict[str, str] = field(default_factory=dict)  # feature code -> note ("" for none)
    criteria: list[str] = field(default_factory=list)  # MeaningfulCriterion codes


def new_offer_ref(session: DbSession) -> str:
    """A new unique offer reference such as 'OF-3F9C2A71'."""
    while True:
        ref = f"{OFFER_REF_PREFIX}{secrets.token_hex(4).upper()}"
        if session.scalars(select(Offer.id).where(Offer.offer_ref == ref)).first() is None:
            return ref


def _check_codes(details: OfferDetails) -> None:
    """Every code comes from the vocabulary; at least one year group and one sector."""
    ActivityType(details.activity_type)
    DeliveryMode(details.delivery_mode)
    for code in details.sectors:
        Sector(code)
    for code in details.features:
        AccessFeature(code)
    for code in details.criteria:
        MeaningfulCriterion(code)
    if not details.year_groups:
        raise OfferError("Select at least one year group", "year_groups")
    if any(year not in YEAR_GROUPS for year in details.year_groups):
        raise OfferError("Year groups run from 7 to 13", "year_groups")
    if not details.sectors:
        raise OfferError("Select at least one sector", "sectors")


def _apply_location(offer: Offer, employer: Employer, details: OfferDetails) -> None:
    """Virtual offers have no location; others use the employer's address or their own postcode."""
    if details.delivery_mode == DeliveryMode.VIRTUAL.value:
        offer.uses_employer_location = False
        offer.postcode = None
        place(offer, None)
        return
    if details.use_employer_location:
        if employer.latitude is None:
            locate_employer(employer, employer.postcode)
        offer.uses_employer_location = True
        offer.postcode = None
        offer.latitude, offer.longitude = employer.latitude, employer.longitude
        offer.location_approximate = employer.location_approximate
        return
    if not details.postcode:
        raise OfferError("Enter the postcode where the offer takes place", "postcode")
    try:
        location = locate(details.postcode)
    except PostcodeProblem as problem:
        raise OfferError(str(problem), "postcode") from None
    offer.uses_employer_location = False
    offer.postcode = location.postcode
    place(offer, location)


def _apply_details(offer: Offer, employer: Employer, details: OfferDetails) -> None:
    """Copy validated details onto the offer, replacing its sets of codes."""
    _check_codes(details)
    _apply_location(offer, employer, details)
    offer.title = details.title
    offer.description = details.description
    offer.activity_type = details.activity_type
    offer.delivery_mode = details.delivery_mode
    offer.learning_outcomes = details.learning_outcomes
    offer.preparation = details.preparation
    offer.travel_notes = details.travel_notes
    offer.supporting_adults_max = max(0, details.supporting_adults_max)
    if offer.sector_codes != sorted(set(details.sectors)):
        offer.sectors = [OfferSector(sector=code) for code in sorted(set(details.sectors))]
    if offer.year_group_numbers != sorted(set(details.year_groups)):
        offer.year_groups = [OfferYearGroup(year_group=year) for year in sorted(set(details.year_groups))]
    wanted = {code: (note or "").strip()[:300] for code, note in details.features.items()}
    kept = {f.feature: f for f in offer.features if f.feature in wanted}
    for code, feature in kept.items():
        feature.note = wanted[code] or None
    added = [OfferFeature(feature=code, note=note or None) for code, note in sorted(wanted.items()) if code not in kept]
    if added or len(kept) != len(offer.features):
        offer.features = sorted([*kept.values(), *added], key=lambda f: f.feature)
    set_criteria(offer, details.criteria)


def set_criteria(offer: Offer, codes: Collection[str]) -> None:
    """Make the offer's meaningful-experience criteria exactly these codes, keeping the rows that stay."""
    wanted = set(codes)
    kept = [c for c in offer.criteria if c.criterion in wanted]
    added = [OfferCriterion(criterion=code) for code in sorted(wanted - {c.criterion for c in kept})]
    if added or len(kept) != len(offer.criteria):
        offer.criteria = sorted([*kept, *added], key=lambda c: c.criterion)


def create_offer(session: DbSession, employer: Employer, details: OfferDetails) -> Offer:
    """Create a draft offer for the employer."""
    offer = Offer(offer_ref=new_offer_ref(session), employer_id=employer.id, status=OfferStatus.DRAFT.value)
    offer.employer = employer
    _apply_details(offer, employer, details)
    session.add(offer)
    session.flush()
    return offer


def update_offer(session: DbSession, offer: Offer, details: OfferDetails) -> None:
    """Change an offer's details (not its status); an archived offer cannot change."""
    if offer.status == OfferStatus.ARCHIVED.value:
        raise OfferError("This offer is archived and can no longer be changed")
    _apply_details(offer, offer.employer, details)
    session.flush()


# --- status -----------------------------------------------------------------------------

TRANSITIONS: dict[OfferStatus, frozenset[OfferStatus]] = {
    OfferStatus.DRAFT: frozenset({OfferStatus.PUBLISHED, OfferStatus.ARCHIVED}),
    OfferStatus.PUBLISHED: frozenset({OfferStatus.PAUSED, OfferStatus.ARCHIVED}),
    OfferStatus.PAUSED: frozenset({OfferStatus.PUBLISHED, OfferStatus.ARCHIVED}),
    OfferStatus.ARCHIVED: frozenset(),
}
STATUS_VERBS = {
    OfferStatus.PUBLISHED: "published",
    OfferStatus.PAUSED: "paused",
    OfferStatus.ARCHIVED: "archived",
    OfferStatus.DRAFT: "made a draft",
}


class OfferStateError(OfferError):
    """The status change is not allowed from the offer's current status."""

    code_for_class = "wrong_state"


def future_sessions(offer: Offer, now: dt.datetime) -> list[OfferSession]:
    """The offer's sessions that have not started yet."""
    return [s for s in offer.sessions if s.starts_at > now]


def publish_problems(offer: Offer, now: dt.datetime) -> list[str]:
    """Why the offer cannot be published now (empty when it can)."""
    problems = []
    upcoming = future_sessions(offer, now)
    if not upcoming:
        problems.append("Add at least one session in the future.")
    employer = offer.employer
    if employer.insurance_expiry is None:
        problems.append("Add your employer's liability insurance to your profile.")
    elif employer.insurance_expiry < london_date(now):
        problems.append(f"Your employer's liability insurance expired on {format_date(employer.insurance_expiry)}: "
                        "update the expiry date in your profile.")
    else:
        uncovered = [s for s in upcoming if not insurance_covers(employer, s.starts_at, s.ends_at)]
        if uncovered:
            problems.append(
                f"Your employer's liability insurance expires on {format_date(employer.insurance_expiry)}, "
                f"before the session on {format_date(uncovered[0].starts_at)}: renew it and update your profile, "
                "or remove the session."
            )
    return problems


def change_status(session: DbSession, offer: Offer, target: OfferStatus, now: dt.datetime | None = None) -> bool:
    """Move the offer to a new status if the rules allow; False when it already has that status."""
    now = now or utcnow()
    current = OfferStatus(offer.status)
    if current is target:
        return False
    if target not in TRANSITIONS[current]:
        raise OfferStateError(f"A {current.label.lower()} offer cannot be {STATUS_VERBS[target]}.")
    if target is OfferStatus.PUBLISHED:
        problems = publish_problems(offer, now)
        if problems:
            raise PublishRefused(problems)
        offer.published_at = now
    offer.status = target.value
    session.flush()
    return True


def find_session(session: DbSession, session_id: int) -> OfferSession | None:
    """One session by id, or None (also for an id no row could have)."""
    return get_stored(session, OfferSession, session_id)


def find_supervisor(session: DbSession, supervisor_id: int) -> Supervisor | None:
    """One supervisor by id, or None (also for an id no row could have)."""
    return get_stored(session, Supervisor, supervisor_id)


def employer_offers_for(session: DbSession, employer_id: int) -> list[Offer]:
    """The employer's published offers, by title, with what choosing one for a session needs."""
    return list(session.scalars(
        select(Offer).where(Offer.employer_id == employer_id, Offer.status == OfferStatus.PUBLISHED.value)
        .options(selectinload(Offer.features), selectinload(Offer.year_groups)).order_by(Offer.title, Offer.id)))


def employer_supervisors(session: DbSession, employer_id: int) -> list[Supervisor]:
    """The employer's supervisors, by name."""
    return list(session.scalars(select(Supervisor).where(Supervisor.employer_id == employer_id)
                                .order_by(Supervisor.name, Supervisor.id)))


def visible_to_schools(offer: Offer) -> bool:
    """Schools and hubs see an offer only when it is published by a vetted employer."""
    return offer.status == OfferStatus.PUBLISHED.value and offer.employer.is_vetted


# --- sessions ---------------------------------------------------------------------------


@dataclass
class SessionDetails:
    """When a session runs (aware datetimes), how many places, and who supervises."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    supervisor_ids: list[int] = field(default_factory=list)


def supervisors_of_employer(session: DbSession, employer_id: int, ids: list[int]) -> list[Supervisor]:
    """Load supervisors by id, refusing any that belong to another employer (or do not exist)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    found = list(session.scalars(
        select(Supervisor).where(Supervisor.id.in_(wanted), Supervisor.employer_id == employer_id)
        .order_by(Supervisor.name)
    ))
    if len(found) != len(wanted):
        raise OfferError("Choose supervisors from your own organisation", "supervisors")
    return found


def _check_session(session: DbSession, offer: Offer, details: SessionDetails, now: dt.datetime,
                   session_id: int | None) -> None:
    """Times in order and in the future, at least one place, one session per start time, insured."""
    if offer.status == OfferStatus.ARCHIVED.value:
        raise OfferError("This offer is archived: its sessions can no longer change")
    if details.starts_at.tzinfo is None or details.ends_at.tzinfo is None:
        raise ValueError("session times must be aware datetimes")
    if details.starts_at <= now:
        raise OfferError("The session must start in the future", "starts_at")
    if details.ends_at <= details.starts_at:
        raise OfferError("The session must end after it starts", "ends_at")
    if details.capacity < 1:
        raise OfferError("A session needs at least 1 place", "capacity")
    clash = session.scalars(
        select(OfferSession.id).where(OfferSession.offer_id == offer.id, OfferSession.starts_at == details.starts_at)
    ).first()
    if clash is not None and clash != session_id:
        raise OfferError("This offer already has a session starting at that time", "starts_at")
    if offer.status == OfferStatus.PUBLISHED.value and not insurance_covers(
        offer.employer, details.starts_at, details.ends_at
    ):
        raise OfferError(
            "Your employer's liability insurance does not cover this session's days: "
            "update the expiry date in your profile first", "ends_at",
        )


def refresh_last_session(session: DbSession, offer_ids: Sequence[int]) -> None:
    """Recompute the offers' last_session_starts_at from their sessions (set-based; after any session change)."""
    latest = (select(func.max(OfferSession.starts_at)).where(OfferSession.offer_id == Offer.id)
              .correlate(Offer).scalar_subquery())
    ids = sorted(set(offer_ids))
    for chunk in chunked(ids):
        session.execute(
            update(Offer).where(Offer.id.in_(chunk)).values(last_session_starts_at=latest)
            .execution_options(synchronize_session="fetch")
        )


def _sessions_changed(session: DbSession, offer: Offer) -> None:
    """Keep the offer's last session start in step after one of its sessions changed."""
    session.flush()
    refresh_last_session(session, [offer.id])


def add_session(session: DbSession, offer: Offer, details: SessionDetails, now: dt.datetime | None = None) -> OfferSession:
    """Add a dated session to an offer."""
    now = now or utcnow()
    _check_session(session, offer, details, now, None)
    supervisors = supervisors_of_employer(session, offer.employer_id, details.supervisor_ids)
    occurrence = OfferSession(starts_at=details.starts_at, ends_at=details.ends_at, capacity=details.capacity)
    occurrence.supervisors = supervisors
    offer.sessions.append(occurrence)
    _sessions_changed(session, offer)
    return occurrence


def update_session(session: DbSession, occurrence: OfferSession, details: SessionDetails,
                   now: dt.datetime | None = None) -> None:
    """Change a session that has not started yet."""
    now = now or utcnow()
    if occurrence.starts_at <= now:
        raise OfferError("This session has already started and can no longer change")
    if details.capacity < occurrence.booked:
        raise OfferError(f"{occurrence.booked} places are already booked: the session needs at least that many",
                         "capacity")
    _check_session(session, occurrence.offer, details, now, occurrence.id)
    occurrence.supervisors = supervisors_of_employer(session, occurrence.offer.employer_id, details.supervisor_ids)
    occurrence.starts_at, occurrence.ends_at, occurrence.capacity = details.starts_at, details.ends_at, details.capacity
    _sessions_changed(session, occurrence.offer)


def remove_session(session: DbSession, occurrence: OfferSession, now: dt.datetime | None = None) -> None:
    """Remove a future session; a published offer keeps at least one future session."""
    now = now or utcnow()
    offer = occurrence.offer
    if occurrence.starts_at <= now:
        raise OfferError("This session has already started and cannot be removed")
    if occurrence.booked:
        raise OfferError("Students are booked on this session: their schools must cancel the bookings first")
    if offer.status == OfferStatus.PUBLISHED.value and future_sessions(offer, now) == [occurrence]:
        raise OfferError("A published offer needs at least one future session: add another or pause the offer first")
    offer.sessions.remove(occurrence)
    session.delete(occurrence)
    _sessions_changed(session, offer)


# --- supervisors ------------------------------------------------------------------------


@dataclass
class SupervisorDetails:
    """A supervisor's name, job title and email."""

    name: str
    role: str = ""
    email: str | None = None


def add_supervisor(session: DbSession, employer: Employer, details: SupervisorDetails) -> Supervisor:
    """Add a supervisor to the employer's list."""
    supervisor = Supervisor(employer_id=employer.id, name=details.name, role=details.role, email=details.email or None)
    session.add(supervisor)
    session.flush()
    return supervisor


def update_supervisor(session: DbSession, supervisor: Supervisor, details: SupervisorDetails) -> None:
    """Change a supervisor's details."""
    supervisor.name, supervisor.role, supervisor.email = details.name, details.role, details.email or None
    session.flush()


def remove_supervisor(session: DbSession, supervisor: Supervisor) -> None:
    """Remove a supervisor; they are taken off every session they supervised."""
    session.delete(supervisor)
    session.flush()
