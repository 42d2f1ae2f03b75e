"""Offers, their dated sessions, the SEND-ready features they support, and supervisors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import (
    CheckConstraint,
    Column,
    Computed,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    event,
    false,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.core.batches import chunked
from portal.core.dates import format_datetime, london_date, to_london
from portal.core.vocab import (
    YEAR_GROUPS,
    AccessFeature,
    ActivityType,
    Benchmark,
    DeliveryMode,
    MeaningfulCriterion,
    OfferStatus,
)
from portal.db import DbSession, utcnow
from portal.extensions import Model
from portal.geo.distance import LON_CELL_SQL
from portal.organisations.models import Employer

session_supervisors = Table(
    "session_supervisors",
    Model.metadata,
    Column("session_id", ForeignKey("offer_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("supervisor_id", ForeignKey("supervisors.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Offer(Model):
    """An encounter or workplace experience an employer offers, with one or more sessions."""

    __tablename__ = "offers"
    __table_args__ = (
        # The distance search: published offers inside a latitude/longitude box (virtual: latitude
        # NULL), sought strip by strip of longitude (lon_cell) and then by latitude range. The other
        # columns make it covering: "has a future session", "vetted employer", year group and features
        # are checked without reading the table, the sessions or the codes.
        Index("ix_offers_search_cell", "status", "lon_cell", "latitude", "longitude", "last_session_starts_at",
              "employer_id", "year_mask", "feature_mask"),
        Index("ix_offers_employer_id_status", "employer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_ref: Mapped[str] = mapped_column(String(40), unique=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    activity_type: Mapped[str] = mapped_column(String(40))
    delivery_mode: Mapped[str] = mapped_column(String(20))
    # Location: the employer's own address (follows it when it changes), another postcode, or none (virtual).
    uses_employer_location: Mapped[bool] = mapped_column(default=True)
    postcode: Mapped[str | None] = mapped_column(String(8))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    lon_cell: Mapped[int | None] = mapped_column(Computed(LON_CELL_SQL))  # the strip of longitude, for the index
    location_approximate: Mapped[bool] = mapped_column(default=False, server_default=false())
    learning_outcomes: Mapped[str] = mapped_column(Text, default="")
    preparation: Mapped[str] = mapped_column(Text, default="")
    travel_notes: Mapped[str] = mapped_column(Text, default="")
    # Supporting adults (teaching assistant, job coach, parent) who may come with students, per session; 0: none.
    supporting_adults_max: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default=OfferStatus.DRAFT.value)
    # Start of the offer's latest session (None without sessions): searches skip offers whose
    # sessions are all past without reading the sessions. Whatever adds, moves or removes
    # sessions must call offers.services.refresh_last_session (the services and imports do).
    last_session_starts_at: Mapped[dt.datetime | None]
    # The year groups and features as bits (YEAR_BITS, FEATURE_BITS), so a search checks them in the index
    # instead of a subquery per offer. Kept by refresh_offer_masks after every flush that touches them;
    # bulk inserts of year groups or features must call it (the imports do).
    year_mask: Mapped[int] = mapped_column(default=0, server_default="0")
    feature_mask: Mapped[int] = mapped_column(default=0, server_default="0")
    published_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    employer: Mapped[Employer] = relationship()
    sessions: Mapped[list[OfferSession]] = relationship(
        back_populates="offer", cascade="all, delete-orphan", order_by="OfferSession.starts_at"
    )
    sectors: Mapped[list[OfferSector]] = relationship(
        cascade="all, delete-orphan", order_by="OfferSector.sector"
    )
    year_groups: Mapped[list[OfferYearGroup]] = relationship(
        cascade="all, delete-orphan", order_by="OfferYearGroup.year_group"
    )
    features: Mapped[list[OfferFeature]] = relationship(
        cascade="all, delete-orphan", order_by="OfferFeature.feature"
    )
    criteria: Mapped[list[OfferCriterion]] = relationship(
        cascade="all, delete-orphan", order_by="OfferCriterion.criterion"
    )

    @property
    def sector_codes(self) -> list[str]:
        """The offer's sector codes."""
        return [s.sector for s in self.sectors]

    @property
    def year_group_numbers(self) -> list[int]:
        """The eligible year groups, ascending."""
        return [y.year_group for y in self.year_groups]

    @property
    def feature_codes(self) -> list[str]:
        """The SEND-ready feature codes the offer supports."""
        return [f.feature for f in self.features]

    @property
    def criterion_codes(self) -> list[str]:
        """The meaningful-experience criteria the offer provides, in the vocabulary's order."""
        held = {c.criterion for c in self.criteria}
        return [m.value for m in MeaningfulCriterion if m.value in held]

    @property
    def criteria_summary(self) -> str:
        """'4 of the 6 marks of a meaningful experience'."""
        return criteria_summary(len(self.criterion_codes))

    @property
    def feature_notes(self) -> dict[str, str]:
        """Feature code to the employer's note about it (empty when none)."""
        return {f.feature: f.note or "" for f in self.features}

    @property
    def is_virtual(self) -> bool:
        """Whether the offer happens online only (no location)."""
        return self.delivery_mode == DeliveryMode.VIRTUAL.value

    @property
    def activity_label(self) -> str:
        """Human label of the activity type."""
        return ActivityType(self.activity_type).label

    @property
    def benchmarks_label(self) -> str:
        """Which Gatsby Benchmarks the activity counts towards, e.g. 'Benchmarks 5 and 6'."""
        numbers = [b.value[-1] for b in Benchmark if b in ActivityType(self.activity_type).benchmarks]
        return ("Benchmarks " if len(numbers) > 1 else "Benchmark ") + " and ".join(numbers)

    @property
    def status_label(self) -> str:
        """Human label of the status."""
        return OfferStatus(self.status).label

    @property
    def is_draft(self) -> bool:
        """Whether it has never been published."""
        return self.status == OfferStatus.DRAFT

    @property
    def is_published(self) -> bool:
        """Whether schools can find and book it."""
        return self.status == OfferStatus.PUBLISHED

    @property
    def is_archived(self) -> bool:
        """Whether it is archived (kept for the record, no longer changed)."""
        return self.status == OfferStatus.ARCHIVED

    @property
    def can_publish(self) -> bool:
        """Whether it is waiting to be published (a draft, or paused)."""
        return self.status in (OfferStatus.DRAFT, OfferStatus.PAUSED)

    @property
    def location_postcode(self) -> str | None:
        """The postcode students travel to (the employer's when the offer uses it); None when virtual."""
        if self.is_virtual:
            return None
        return self.employer.postcode if self.uses_employer_location else self.postcode


def criteria_summary(provided: int) -> str:
    """'4 of the 6 marks of a meaningful experience'."""
    return f"{provided} of the {len(MeaningfulCriterion)} marks of a meaningful experience"


class OfferSector(Model):
    """A sector an offer shows students."""

    __tablename__ = "offer_sectors"

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    sector: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class OfferYearGroup(Model):
    """A year group (7 to 13) an offer is open to."""

    __tablename__ = "offer_year_groups"

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    year_group: Mapped[int] = mapped_column(primary_key=True, index=True)


class OfferFeature(Model):
    """A SEND-ready feature an offer supports, with the employer's optional note ("ramp at side entrance")."""

    __tablename__ = "offer_features"

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    feature: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    note: Mapped[str | None] = mapped_column(String(300))


class OfferCriterion(Model):
    """A meaningful-experience criterion an offer provides (a clear purpose, a task set by the employer…)."""

    __tablename__ = "offer_criteria"

    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"), primary_key=True)
    criterion: Mapped[str] = mapped_column(String(40), primary_key=True)


class OfferSession(Model):
    """A dated occurrence of an offer with a number of places (times stored in UTC)."""

    __tablename__ = "offer_sessions"
    __table_args__ = (
        # A session is identified by its offer and start (the import's key); also the "next session" index.
        UniqueConstraint("offer_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="places_within_capacity"),
        CheckConstraint("adults_booked >= 0", name="adult_places_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime]
    capacity: Mapped[int]
    # Places taken by bookings that hold one; changed only by the bookings service's atomic UPDATEs.
    booked: Mapped[int] = mapped_column(default=0, server_default="0")
    # Supporting adults' places taken (against the offer's supporting_adults_max, not the capacity); same guard.
    adults_booked: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    offer: Mapped[Offer] = relationship(back_populates="sessions")
    supervisors: Mapped[list[Supervisor]] = relationship(
        secondary=session_supervisors, order_by="Supervisor.name"
    )

    @property
    def places_left(self) -> int:
        """Places not yet taken by a requested or confirmed booking."""
        return max(self.capacity - self.booked, 0)

    @property
    def is_full(self) -> bool:
        """Whether every place is taken (bookings.take_place refuses the next one)."""
        return self.places_left == 0

    @property
    def when(self) -> str:
        """'5 March 2027, 9:30am to 3:00pm' in UK time (both dates when it spans days)."""
        if london_date(self.starts_at) == london_date(self.ends_at):
            end = to_london(self.ends_at)
            hour = end.hour % 12 or 12
            return f"{format_datetime(self.starts_at)} to {hour}:{end:%M}{'am' if end.hour < 12 else 'pm'}"
        return f"{format_datetime(self.starts_at)} to {format_datetime(self.ends_at)}"


class Supervisor(Model):
    """A member of an employer's staff who supervises students (DBS decisions are the school's)."""

    __tablename__ = "supervisors"

    id: Mapped[int] = mapped_column(primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


#: The bit of each year group in offers.year_mask and of each feature in offers.feature_mask. Stored masks
#: keep their meaning only while every code keeps its bit: new features go at the end of AccessFeature.
YEAR_BITS: dict[int, int] = {year: 1 << year for year in YEAR_GROUPS}
FEATURE_BITS: dict[str, int] = {feature.value: 1 << index for index, feature in enumerate(AccessFeature)}


def features_mask(codes: Iterable[str]) -> int | None:
    """The bits of these feature codes (None if one is not a feature: nothing supports it)."""
    mask = 0
    for code in codes:
        if code not in FEATURE_BITS:
            return None
        mask |= FEATURE_BITS[code]
    return mask


def refresh_offer_masks(connection: Connection | DbSession, offer_ids: Iterable[int]) -> None:
    """Recompute the offers' year and feature masks from their rows (set-based; after any change to them)."""
    years = (select(func.coalesce(func.sum(case(YEAR_BITS, value=OfferYearGroup.year_group, else_=0)), 0))
             .where(OfferYearGroup.offer_id == Offer.id).correlate(Offer).scalar_subquery())
    features = (select(func.coalesce(func.sum(case(FEATURE_BITS, value=OfferFeature.feature, else_=0)), 0))
                .where(OfferFeature.offer_id == Offer.id).correlate(Offer).scalar_subquery())
    for chunk in chunked(sorted(set(offer_ids))):
        connection.execute(update(Offer).where(Offer.id.in_(chunk)).values(year_mask=years, feature_mask=features)
                           .execution_options(synchronize_session=False))


@event.listens_for(Session, "after_flush")
def _masks_after_flush(session: Session, _context: object) -> None:
    """Keep the masks of every offer whose year groups or features a flush may have changed."""
    touched: set[int] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Offer) and instance.id is not None:
            touched.add(instance.id)
        elif isinstance(instance, OfferYearGroup | OfferFeature) and instance.offer_id is not None:
            touched.add(instance.offer_id)
    if touched:
        refresh_offer_masks(session.connection(), touched)
