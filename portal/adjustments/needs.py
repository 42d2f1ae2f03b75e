"""Needs posted when nothing fits: a school (or its hub) says what it is looking for, employers near the school see
it, and one answers by adding a session the school can book; unanswered needs lapse on their expiry day.

What an employer sees is counts only (year group, places, how many students need each adjustment, sectors,
dates, the school): never a student's name or SEND status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.orm import joinedload

from portal.accounts.models import User
from portal.accounts.recipients import Directory
from portal.adjustments.models import PostedNeed
from portal.core import audit
from portal.core.dates import london_date
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.refusals import Refusal
from portal.core.vocab import YEAR_GROUPS, AccessFeature, PostedNeedStatus, Role, Sector
from portal.db import DbSession, utcnow
from portal.offers.models import Offer, OfferSession
from portal.offers.search import distances_km
from portal.offers.services import SessionDetails, add_session, visible_to_schools
from portal.organisations.models import Employer, School

MAX_PLACES = 300
MAX_DAYS_AHEAD = 2 * 365
DEFAULT_EXPIRY_DAYS = 30  # an open need lapses after this many days, or on its last day if sooner


class NeedRefused(Refusal):
    """Posting or answering a need is not allowed; `code` is stable, the message is for people, `field` the form's."""


@dataclass(frozen=True)
class NeedDetails:
    """What staff post."""

    year_group: int
    places: int
    date_from: dt.date
    date_to: dt.date
    need_counts: Mapping[str, int]
    sectors: Sequence[str] = ()
    note: str = ""


def _checked(details: NeedDetails, today: dt.date) -> NeedDetails:
    """The details, refused field by field when they make no sense."""
    if details.year_group not in YEAR_GROUPS:
        raise NeedRefused("year_group", "Year groups run from 7 to 13", "year_group")
    if not 1 <= details.places <= MAX_PLACES:
        raise NeedRefused("places", f"Places must be between 1 and {MAX_PLACES}", "places")
    if details.date_from < today:
        raise NeedRefused("dates", "The first day must be today or later", "date_from")
    if details.date_to < details.date_from:
        raise NeedRefused("dates", "The last day must be on or after the first day", "date_to")
    if details.date_to > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise NeedRefused("dates", "Needs can be posted up to two years ahead", "date_to")
    counts = {code: int(count) for code, count in details.need_counts.items() if count}
    for code, count in counts.items():
        AccessFeature(code)
        if not 0 < count <= details.places:
            raise NeedRefused("need_counts", "Each need's count must be between 0 and the number of places",
                              f"need_{code}")
    for code in details.sectors:
        Sector(code)
    return NeedDetails(details.year_group, details.places, details.date_from, details.date_to, counts,
                       sorted(set(details.sectors)), details.note.strip()[:500])


def post(session: DbSession, user: User, school: School, details: NeedDetails,
         now: dt.datetime | None = None) -> PostedNeed:
    """Staff of the school, or a coordinator of its hub, post a need; employers near the school are emailed."""
    now = now or utcnow()
    own_school = user.role == Role.SCHOOL.value and user.school_id == school.id
    own_hub = user.role == Role.HUB.value and school.hub_id is not None and user.hub_id == school.hub_id
    if not (own_school or own_hub):
        raise NeedRefused("not_found", "No such school")
    today = london_date(now)
    details = _checked(details, today)
    need = PostedNeed(school_id=school.id, hub_id=school.hub_id, posted_by_id=user.id, year_group=details.year_group,
                      places=details.places, date_from=details.date_from, date_to=details.date_to,
                      need_counts=dict(details.need_counts), sectors=",".join(details.sectors), note=details.note,
                      expires_on=min(details.date_to, today + dt.timedelta(days=DEFAULT_EXPIRY_DAYS)),
                      created_at=now)
    need.school = school
    session.add(need)
    session.flush()
    audit.record(session, "need_posted", "posted_need", need.id, school_id=school.id, actor=user)
    employers = employers_near(session, need)
    directory = Directory.load(session, employer_ids=[e.id for e in employers])
    link = absolute_url("adjustments.employer_need", need_id=need.id)
    for employer in employers:
        for email in directory.employer(employer.id):
            notify(session, "need_posted", email, employer_id=employer.id, need=need, school=school, link=link)
    return need


def _sector_fits(employer: Employer, need: PostedNeed, offer_sectors: set[str]) -> bool:
    """No sector asked for, or the employer's sector or one of its offers' is among them."""
    wanted = set(need.sector_codes)
    return not wanted or employer.sector in wanted or bool(offer_sectors & wanted)


def employers_near(session: DbSession, need: PostedNeed) -> list[Employer]:
    """Vetted employers within the school's travel distance whose sector (or an offer's) is among those asked."""
    school = need.school
    if school.latitude is None or school.longitude is None:
        return []
    from portal.offers.models import OfferSector

    employers = [e for e in session.scalars(select(Employer).where(Employer.latitude.is_not(None))) if e.is_vetted]
    if not employers:
        return []
    kms = distances_km((school.latitude, school.longitude),
                       [(e.latitude or 0.0, e.longitude or 0.0) for e in employers])
    near = [e for e, km in zip(employers, kms, strict=True) if km <= school.match_radius_km]
    sectors: dict[int, set[str]] = {}
    for employer_id, sector in session.execute(
            select(Offer.employer_id, OfferSector.sector).join(OfferSector, OfferSector.offer_id == Offer.id)
            .where(Offer.employer_id.in_([e.id for e in near]))):
        sectors.setdefault(employer_id, set()).add(sector)
    return [e for e in near if _sector_fits(e, need, sectors.get(e.id, set()))]


def visible_to_employer(session: DbSession, need: PostedNeed, employer: Employer) -> bool:
    """Whether the employer is one the need was posted to (near enough, sector fits)."""
    return any(e.id == employer.id for e in employers_near(session, need))


def open_for_employer(session: DbSession, employer: Employer, today: dt.date) -> list[PostedNeed]:
    """Open needs posted near the employer, soonest first."""
    candidates = list(session.scalars(
        select(PostedNeed).where(PostedNeed.status == PostedNeedStatus.OPEN.value, PostedNeed.expires_on >= today)
        .options(joinedload(PostedNeed.school)).order_by(PostedNeed.date_from, PostedNeed.id)))
    return [need for need in candidates if visible_to_employer(session, need, employer)]


def answer(session: DbSession, employer_user: User, need: PostedNeed, offer: Offer, details: SessionDetails,
           now: dt.datetime | None = None) -> OfferSession:
    """The employer answers by adding a session of one of its offers that fits the need; only the first answer counts."""
    now = now or utcnow()
    if offer.employer_id != employer_user.employer_id or not visible_to_employer(session, need, offer.employer):
        raise NeedRefused("not_found", "No such need")
    if not visible_to_schools(offer):
        raise NeedRefused("offer_not_open", "Choose a published offer: schools cannot book a draft", "offer_id")
    if need.year_group not in offer.year_group_numbers:
        raise NeedRefused("year_group", f"That offer is not open to Year {need.year_group}", "offer_id")
    lacking = sorted(set(need.need_counts) - set(offer.feature_codes))
    if lacking:
        words = " and ".join(AccessFeature(code).in_sentence for code in lacking)
        raise NeedRefused("needs_unsupported", f"That offer does not list {words}: add it to the offer first, "
                                               "if you can provide it", "offer_id")
    if not need.date_from <= london_date(details.starts_at) <= need.date_to:
        raise NeedRefused("dates", f"The school asked for a date from {need.date_from:%-d %B} to "
                                   f"{need.date_to:%-d %B %Y}", "start_date")
    claimed = session.execute(
        update(PostedNeed).where(PostedNeed.id == need.id, PostedNeed.status == PostedNeedStatus.OPEN.value)
        .values(status=PostedNeedStatus.ANSWERED.value, answered_by_employer_id=offer.employer_id, answered_at=now)
        .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise NeedRefused("already_answered", "Another employer has answered this need, or it has lapsed")
    occurrence = add_session(session, offer, details, now)
    session.flush()
    need.answered_session_id = occurrence.id
    session.refresh(need, ["status"])
    audit.record(session, "need_answered", "posted_need", need.id, school_id=need.school_id, actor=employer_user,
                 detail=f"session {occurrence.id}")
    link = absolute_url("bookings.book_session", offer_id=offer.id, session_id=occurrence.id)
    directory = Directory.load(session, school_ids=[need.school_id])
    for email in directory.booking_staff(need.school_id, need.posted_by_id):
        notify(session, "need_answered", email, school_id=need.school_id, need=need, offer=offer,
               occurrence=occurrence, link=link)
    return occurrence


def withdraw(session: DbSession, user: User, need: PostedNeed) -> None:
    """The poster's school (or hub) withdraws an open need."""
    if not can_follow(user, need):
        raise NeedRefused("not_found", "No such need")
    done = session.execute(
        update(PostedNeed).where(PostedNeed.id == need.id, PostedNeed.status == PostedNeedStatus.OPEN.value)
        .values(status=PostedNeedStatus.WITHDRAWN.value).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if done != 1:
        raise NeedRefused("not_open", "This need is no longer open")
    audit.record(session, "need_withdrawn", "posted_need", need.id, school_id=need.school_id, actor=user)


def lapse(session: DbSession, now: dt.datetime) -> int:
    """Open needs past their expiry day lapse; the school is told (one conditional UPDATE claims each)."""
    ids = list(session.scalars(
        update(PostedNeed).where(PostedNeed.status == PostedNeedStatus.OPEN.value,
                                 PostedNeed.expires_on < london_date(now))
        .values(status=PostedNeedStatus.EXPIRED.value).returning(PostedNeed.id)))
    if not ids:
        return 0
    needs = list(session.scalars(select(PostedNeed).where(PostedNeed.id.in_(ids)).options(
        joinedload(PostedNeed.school)).order_by(PostedNeed.id)))
    directory = Directory.load(session, school_ids={n.school_id for n in needs})
    link = absolute_url("adjustments.school_needs")
    for need in needs:
        audit.record(session, "need_expired", "posted_need", need.id, school_id=need.school_id, actor=None)
        for email in directory.booking_staff(need.school_id, need.posted_by_id):
            notify(session, "need_lapsed", email, school_id=need.school_id, need=need, link=link)
    return len(ids)


def schools_to_post_for(session: DbSession, scope: Select[tuple[School]]) -> list[School]:
    """The schools within the user's scope (a hub's schools), by name."""
    return list(session.scalars(scope.order_by(School.name, School.id)))


def can_follow(user: User, need: PostedNeed) -> bool:
    """The school's staff, or its hub's coordinators, follow a need."""
    if user.role == Role.SCHOOL.value:
        return user.school_id == need.school_id
    return user.role == Role.HUB.value and need.hub_id is not None and user.hub_id == need.hub_id


def for_school(school_id: int) -> Select[tuple[PostedNeed]]:
    """The school's posted needs, newest first."""
    return (select(PostedNeed).where(PostedNeed.school_id == school_id)
            .options(joinedload(PostedNeed.answered_session).joinedload(OfferSession.offer))
            .order_by(PostedNeed.created_at.desc(), PostedNeed.id.desc()))


def for_hub(hub_id: int) -> Select[tuple[PostedNeed]]:
    """Needs of the hub's schools, open first, newest first."""
    return (select(PostedNeed).where(PostedNeed.hub_id == hub_id)
            .options(joinedload(PostedNeed.school),
                     joinedload(PostedNeed.answered_session).joinedload(OfferSession.offer))
            .order_by((PostedNeed.status == PostedNeedStatus.OPEN.value).desc(), PostedNeed.created_at.desc(),
                      PostedNeed.id.desc()))


def find(session: DbSession, need_id: int) -> PostedNeed | None:
    """One need with its school."""
    return session.scalars(select(PostedNeed).where(PostedNeed.id == need_id).options(
        joinedload(PostedNeed.school))).first()
