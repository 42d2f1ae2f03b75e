"""Hubs, schools, employers and students."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.vocab import (
    DisabilityConfident,
    DisadvantageBasis,
    SchoolType,
    SendStatus,
    VettingStatus,
)
from portal.db import utcnow
from portal.extensions import Model


class Hub(Model):
    """A careers hub or local authority that supports a group of schools."""

    __tablename__ = "hubs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class School(Model):
    """A school or college, identified by its URN from the national register."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    urn: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    school_type: Mapped[str] = mapped_column(String(30))
    postcode: Mapped[str] = mapped_column(String(8))
    # Geocoded from the postcode (WGS84); approximate when only the district's centroid was known.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    location_approximate: Mapped[bool] = mapped_column(default=False, server_default=false())
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id", ondelete="SET NULL"), index=True)
    # Which set of students the school's "disadvantaged" flag means (they differ; see PRODUCT.md).
    disadvantage_basis: Mapped[str] = mapped_column(
        String(20), default=DisadvantageBasis.PUPIL_PREMIUM.value
    )
    # Minimum notice in days before a session can be booked (1: from tomorrow on).
    min_notice_days: Mapped[int] = mapped_column(default=1, server_default="1")
    # How far the school's students travel (km): matching's default distance and the hub's supply radius.
    match_radius_km: Mapped[float] = mapped_column(default=15.0, server_default="15")
    # The member of staff who gets escalations and the weekly digest (all staff when unset).
    careers_leader_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True)
    )
    # Compliance deadlines: days before a placement's first day (London calendar) each duty is due.
    risk_assessment_due_days: Mapped[int] = mapped_column(default=10, server_default="10")
    insurance_due_days: Mapped[int] = mapped_column(default=10, server_default="10")
    dbs_due_days: Mapped[int] = mapped_column(default=5, server_default="5")
    consent_due_days: Mapped[int] = mapped_column(default=2, server_default="2")
    briefing_due_days: Mapped[int] = mapped_column(default=1, server_default="1")
    # Days after a placement ends before a missing reflection or feedback is flagged to staff.
    reflection_flag_days: Mapped[int] = mapped_column(default=14, server_default="14")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    hub: Mapped[Hub | None] = relationship()

    @property
    def type_label(self) -> str:
        """Human label of the school type."""
        return SchoolType(self.school_type).label


class Employer(Model):
    """An organisation that offers encounters and workplace experiences."""

    __tablename__ = "employers"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    sector: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(8))
    # Geocoded from the postcode (WGS84); approximate when only the district's centroid was known.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    location_approximate: Mapped[bool] = mapped_column(default=False, server_default=false())
    safeguarding_lead_name: Mapped[str | None] = mapped_column(String(120))
    safeguarding_lead_email: Mapped[str | None] = mapped_column(String(254))
    safeguarding_lead_phone: Mapped[str | None] = mapped_column(String(30))
    # Employer's liability insurance: schools check it is valid on every day of a placement.
    insurer: Mapped[str | None] = mapped_column(String(200))
    insurance_expiry: Mapped[dt.date | None]
    disability_confident: Mapped[str] = mapped_column(
        String(20), default=DisabilityConfident.NONE.value, server_default=DisabilityConfident.NONE.value
    )
    autism_trained_staff: Mapped[bool] = mapped_column(default=False, server_default=false())
    vetting_status: Mapped[str] = mapped_column(String(20), default=VettingStatus.PENDING.value)
    vetted_at: Mapped[dt.datetime | None]
    vetted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def is_vetted(self) -> bool:
        """Whether a hub has vetted the employer."""
        return self.vetting_status == VettingStatus.VETTED.value

    @property
    def is_suspended(self) -> bool:
        """Whether a hub has suspended the employer (its offers are hidden)."""
        return self.vetting_status == VettingStatus.SUSPENDED.value

    def insurance_valid_on(self, day: dt.date) -> bool:
        """Whether the employer's liability insurance covers the given day."""
        return self.insurance_expiry is not None and day <= self.insurance_expiry


class Student(Model):
    """A student on a school's roster; holds special category data (see the data rules)."""

    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("school_id", "student_ref"),
        Index("ix_students_school_year", "school_id", "year_group"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_ref: Mapped[str] = mapped_column(String(40))
    # UPN: lets exports join the school's MIS and Compass+; never shown to employers.
    upn: Mapped[str | None] = mapped_column(String(13))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    year_group: Mapped[int]
    # Date of birth: needed for the under-16/under-18 rules (DBS, consent); never shown to employers.
    date_of_birth: Mapped[dt.date]
    # SEND status: special category data, needed to show equity gaps and prioritise scarce places.
    send_status: Mapped[str] = mapped_column(String(20), default=SendStatus.NONE.value)
    # Disadvantaged: needed to monitor that disadvantaged students are not given worse placements.
    disadvantaged: Mapped[bool] = mapped_column(default=False)
    tutor_group: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    left_on: Mapped[dt.date | None]
    # Who must attend with the student (a SupportingAdultRole code); None: the student may attend alone.
    supporting_adult: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    school: Mapped[School] = relationship()
    needs: Mapped[list[StudentNeed]] = relationship(
        cascade="all, delete-orphan", order_by="StudentNeed.need"
    )
    interests: Mapped[list[StudentInterest]] = relationship(
        cascade="all, delete-orphan", order_by="StudentInterest.sector"
    )

    @property
    def full_name(self) -> str:
        """First and last name."""
        return f"{self.first_name} {self.last_name}"

    @property
    def needs_supporting_adult(self) -> bool:
        """Whether the student must attend with a supporting adult (only offers that accept one fit)."""
        return self.supporting_adult is not None

    @property
    def roster_details(self) -> str:
        """What tells two students of one name apart, for staff: year, tutor group and the school's reference."""
        group = f", {self.tutor_group}" if self.tutor_group else ""
        return f"Year {self.year_group}{group}, ref {self.student_ref}"

    @property
    def roster_label(self) -> str:
        """The student's name as staff see it in lists of students: with the details that tell namesakes apart."""
        return f"{self.full_name} ({self.roster_details})"

    @property
    def need_codes(self) -> list[str]:
        """The student's access-need codes."""
        return [n.need for n in self.needs]

    @property
    def interest_codes(self) -> list[str]:
        """The student's sector-interest codes."""
        return [i.sector for i in self.interests]

    @property
    def send_label(self) -> str:
        """Human label of the SEND status."""
        return SendStatus(self.send_status).label


class StudentNeed(Model):
    """An access need of a student (special category data: it reveals a disability)."""

    __tablename__ = "student_needs"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    need: Mapped[str] = mapped_column(String(40), primary_key=True)


class StudentInterest(Model):
    """A sector the student is interested in (used to rank matches)."""

    __tablename__ = "student_interests"

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    sector: Mapped[str] = mapped_column(String(40), primary_key=True)
