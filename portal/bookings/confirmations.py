"""Confirmed features: after a placement, whether each feature the student needed was really there.

The school answers for each need of the student (the student answers too, in plain words, in the
reflection, and the school sees that answer beside its own). A school's "no" flags the offer: the
employer is emailed and sees it on the offer page, the hub sees it beside the employer. Tallies
count the schools' answers ("features confirmed by schools: 14 of 15"); a feature of an offer is
confirmed when schools have said yes to it more often than no, and matching ranks it above a
feature that is only declared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, or_, select

from portal.accounts.models import User
from portal.accounts.recipients import Directory
from portal.bookings.models import Booking, FeatureConfirmation
from portal.core import audit
from portal.core.links import absolute_url
from portal.core.notify import notify
from portal.core.refusals import Refusal
from portal.core.vocab import AccessFeature, ConfirmationSource, Role
from portal.db import DbSession, any_of, dialect_insert, utcnow
from portal.offers.models import Offer, OfferSession
from portal.organisations.models import School

NOTE_MAX = 500


class ConfirmationRefused(Refusal):
    """Features cannot be confirmed for this booking, or an answer names a need the student does not have."""


@dataclass(frozen=True)
class Tally:
    """Schools' answers on an offer's (or an employer's) features: how many said yes, of how many answers."""

    confirmed: int
    answered: int

    @property
    def not_there(self) -> int:
        """Answers that said the feature was not there."""
        return self.answered - self.confirmed

    @property
    def short(self) -> str:
        """'14 of 15', or 'None yet'."""
        return f"{self.confirmed} of {self.answered}" if self.answered else "None yet"

    @property
    def sentence(self) -> str:
        """'Features confirmed by schools: 14 of 15', or that no school has answered yet."""
        if not self.answered:
            return "No school has confirmed features yet"
        return f"Features confirmed by schools: {self.confirmed} of {self.answered}"


@dataclass(frozen=True)
class MissingReport:
    """A school said a feature was not there, on this session of this offer."""

    offer_id: int
    offer_title: str
    feature: str
    starts_at: dt.datetime
    note: str
    recorded_at: dt.datetime

    @property
    def feature_label(self) -> str:
        """The feature in words."""
        return AccessFeature(self.feature).label


STUDENT_QUESTIONS = {
    AccessFeature.STEP_FREE_ACCESS: "Could you get everywhere without steps or stairs?",
    AccessFeature.ACCESSIBLE_TOILET: "Was there a toilet you could use easily?",
    AccessFeature.QUIET_SPACE: "Was there a quiet place you could go to?",
    AccessFeature.SENSORY_FRIENDLY: "Was the place calm, without too much noise or bright light?",
    AccessFeature.FLEXIBLE_HOURS: "Could you take breaks or do shorter hours when you needed to?",
    AccessFeature.SUPPORTING_ADULT_WELCOME: "Could the adult who supports you come with you?",
    AccessFeature.AUTISM_AWARE_STAFF: "Did the staff understand how to help you?",
    AccessFeature.BSL_MAKATON: "Did people use BSL or Makaton with you?",
    AccessFeature.EASY_READ_MATERIALS: "Were the instructions easy to read, or shown with pictures?",
    AccessFeature.REMOTE_OPTION: "Could you take part from home or school when you needed to?",
    AccessFeature.NEAR_PUBLIC_TRANSPORT: "Was it easy to get there by bus or train?",
    AccessFeature.TRANSPORT_PROVIDED: "Did someone take you there and back?",
}


def needed_features(booking: Booking) -> list[str]:
    """The codes of the features the student needed, in the vocabulary's order."""
    needs = set(booking.student.need_codes)
    return [feature.value for feature in AccessFeature if feature.value in needs]


def answers_of(session: DbSession, booking_id: int, source: ConfirmationSource) -> dict[str, FeatureConfirmation]:
    """Feature code -> the answer one source gave for the booking."""
    return {row.feature: row for row in session.scalars(select(FeatureConfirmation).where(
        FeatureConfirmation.booking_id == booking_id, FeatureConfirmation.source == source.value)
        .execution_options(populate_existing=True))}


def record(session: DbSession, booking: Booking, answers: Mapping[str, bool | None], *, source: ConfirmationSource,
           user: User | None, note: str = "", now: dt.datetime | None = None) -> list[str]:
    """Store the answers (None: not answered, left as it was); return the features newly said to be missing.

    One upsert per answer that changes nothing unless the answer or the note did, so a double
    submission (even two at once) flags and emails once.
    """
    if not booking.is_completed:
        raise ConfirmationRefused("not_completed", "Features can be confirmed once the student has attended")
    needed = set(needed_features(booking))
    unknown = sorted(set(answers) - needed)
    if unknown:
        raise ConfirmationRefused("not_needed", "Answer only for the features the student needed", field="features")
    note = note.strip()[:NOTE_MAX]
    now = now or utcnow()
    table = FeatureConfirmation.__table__
    newly_missing: list[str] = []
    for feature in needed_features(booking):
        present = answers.get(feature)
        if present is None:
            continue
        values = {"booking_id": booking.id, "feature": feature, "source": source.value,
                  "offer_id": booking.session.offer_id, "employer_id": booking.employer_id, "present": present,
                  "note": note, "recorded_by_id": user.id if user is not None else None, "recorded_at": now}
        statement = dialect_insert(session)(table).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.booking_id, table.c.feature, table.c.source],
            set_={"present": statement.excluded.present, "note": statement.excluded.note,
                  "recorded_by_id": statement.excluded.recorded_by_id, "recorded_at": statement.excluded.recorded_at},
            where=or_(table.c.present != statement.excluded.present, table.c.note != statement.excluded.note),
        ).returning(table.c.present)
        changed = session.execute(statement).scalar_one_or_none()
        if changed is False:
            newly_missing.append(feature)
    said = ", ".join(f"{code}={'yes' if answers[code] else 'no'}" for code in sorted(answers) if answers[code] is not None)
    if said:
        audit.record(session, f"features_confirmed_by_{source.value}", "booking", booking.id,
                     school_id=booking.school_id, detail=said, actor=user)
    if newly_missing and source is ConfirmationSource.SCHOOL:
        _flag(session, booking, newly_missing, note)
    return newly_missing


def _flag(session: DbSession, booking: Booking, missing: Sequence[str], note: str) -> None:
    """Tell the employer's staff and the hub's coordinators which features a school found missing."""
    offer = session.get(Offer, booking.session.offer_id)
    school = session.get(School, booking.school_id)
    features = [AccessFeature(code).in_sentence for code in missing]
    context: dict[str, Any] = {"offer": offer, "occurrence": booking.session, "school": school, "features": features,
               "year_group": booking.student.year_group, "note": note}
    directory = Directory.load(session, employer_ids=[booking.employer_id])
    link = absolute_url("offers.offer_detail", offer_id=booking.session.offer_id)
    for email in directory.employer(booking.employer_id):
        notify(session, "feature_missing", email, employer_id=booking.employer_id, link=link, for_hub=False, **context)
    if school is not None and school.hub_id is not None:
        hub_emails = session.scalars(select(User.email).where(
            User.hub_id == school.hub_id, User.role == Role.HUB.value, User.is_active,
            User.password_hash.is_not(None)).order_by(User.email))
        hub_link = absolute_url("organisations.hub_employers")
        for email in hub_emails:
            notify(session, "feature_missing", email, link=hub_link, for_hub=True, **context)


def _yes_count() -> Any:
    """Grouped count of the answers that said the feature was there."""
    return func.count(case((FeatureConfirmation.present.is_(True), 1)))


def _school_answers() -> list[object]:
    """Grouped counts of the schools' answers: yes, and all."""
    return [_yes_count(), func.count()]


def tallies_by_offer(session: DbSession, offer_ids: Sequence[int]) -> dict[int, Tally]:
    """Per offer, the schools' answers on its features, in one grouped query (every id gets a tally)."""
    return _tallies(session, FeatureConfirmation.offer_id, offer_ids)


def tallies_by_employer(session: DbSession, employer_ids: Sequence[int]) -> dict[int, Tally]:
    """Per employer, the schools' answers on the features of all its offers, in one grouped query."""
    return _tallies(session, FeatureConfirmation.employer_id, employer_ids)


def _tallies(session: DbSession, column: object, ids: Sequence[int]) -> dict[int, Tally]:
    """Tallies grouped by the given column, for the given ids."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(column, *_school_answers())  # type: ignore[call-overload]
        .where(column.in_(wanted), FeatureConfirmation.source == ConfirmationSource.SCHOOL.value)  # type: ignore[attr-defined]
        .group_by(column)
    ).all()
    found = {key: Tally(int(yes), int(count)) for key, yes, count in rows}
    return {key: found.get(key, Tally(0, 0)) for key in wanted}


def confirmed_by_offer(session: DbSession, offer_ids: Sequence[int]) -> dict[int, set[str]]:
    """Per offer, the features schools have said yes to more often than no (offers with none are left out)."""
    wanted = list(dict.fromkeys(offer_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(FeatureConfirmation.offer_id, FeatureConfirmation.feature)
        .where(any_of(FeatureConfirmation.offer_id, wanted), FeatureConfirmation.source == ConfirmationSource.SCHOOL.value)
        .group_by(FeatureConfirmation.offer_id, FeatureConfirmation.feature)
        .having(_yes_count() * 2 > func.count())
    ).all()
    confirmed: dict[int, set[str]] = {}
    for offer_id, feature in rows:
        confirmed.setdefault(offer_id, set()).add(feature)
    return confirmed


def missing_reports(session: DbSession, *, employer_id: int, offer_id: int | None = None,
                    limit: int = 20) -> list[MissingReport]:
    """The schools' latest "not there" answers on the employer's offers (or one offer), newest first."""
    statement = (
        select(FeatureConfirmation.offer_id, Offer.title, FeatureConfirmation.feature, OfferSession.starts_at,
               FeatureConfirmation.note, FeatureConfirmation.recorded_at)
        .join(Booking, Booking.id == FeatureConfirmation.booking_id)
        .join(OfferSession, OfferSession.id == Booking.session_id)
        .join(Offer, Offer.id == FeatureConfirmation.offer_id)
        .where(FeatureConfirmation.employer_id == employer_id, FeatureConfirmation.present.is_(False),
               FeatureConfirmation.source == ConfirmationSource.SCHOOL.value)
        .order_by(FeatureConfirmation.recorded_at.desc(), FeatureConfirmation.booking_id.desc(),
                  FeatureConfirmation.feature)
        .limit(limit)
    )
    if offer_id is not None:
        statement = statement.where(FeatureConfirmation.offer_id == offer_id)
    return [MissingReport(*row) for row in session.execute(statement).tuples()]

