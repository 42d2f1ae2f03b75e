"""A student's reflection on a completed booking, and the staff debrief of it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.bookings.models import Booking
from portal.core.vocab import ReflectionStatus
from portal.db import utcnow
from portal.extensions import Model
from portal.organisations.models import Student


class Reflection(Model):
    """One per booking, owned by the student; a row with no student text records an in-person debrief.

    The booking is meaningful (Benchmark 5/6) once the reflection is submitted or a debrief is recorded.
    """

    __tablename__ = "reflections"
    __table_args__ = (Index("ix_reflections_school_status", "school_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), unique=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), index=True)
    # Copied from the student so school lists are one indexed query.
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    easy_read: Mapped[bool] = mapped_column(default=False)
    what_i_did: Mapped[str | None] = mapped_column(Text)
    surprised: Mapped[str | None] = mapped_column(Text)
    interest_before: Mapped[int | None]
    interest_now: Mapped[int | None]
    next_steps: Mapped[str | None] = mapped_column(Text)
    summary_100: Mapped[str | None] = mapped_column(Text)
    summary_250: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=ReflectionStatus.DRAFT.value)
    submitted_at: Mapped[dt.datetime | None]
    debriefed_at: Mapped[dt.datetime | None]
    debrief_note: Mapped[str | None] = mapped_column(Text)
    # True when staff recorded a debrief held in person (the student may have written nothing).
    debriefed_in_person: Mapped[bool] = mapped_column(default=False)
    debriefed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    booking: Mapped[Booking] = relationship()
    student: Mapped[Student] = relationship()
    debriefed_by: Mapped[User | None] = relationship()
    skill_rows: Mapped[list[ReflectionSkill]] = relationship(
        cascade="all, delete-orphan", order_by="ReflectionSkill.skill"
    )

    @property
    def skills(self) -> list[str]:
        """The Skills Builder skill codes the student says they used."""
        return [row.skill for row in self.skill_rows]

    @property
    def submitted(self) -> bool:
        """Whether the student has submitted the reflection to staff."""
        return self.status == ReflectionStatus.SUBMITTED.value

    @property
    def debriefed(self) -> bool:
        """Whether staff have debriefed the student (in writing or in person)."""
        return self.debriefed_at is not None

    @property
    def meaningful(self) -> bool:
        """Submitted or debriefed: what turns an attended booking into a meaningful one."""
        return self.submitted or self.debriefed


class ReflectionSkill(Model):
    """One Skills Builder essential skill the student used (a Skill code)."""

    __tablename__ = "reflection_skills"

    reflection_id: Mapped[int] = mapped_column(
        ForeignKey("reflections.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(30), primary_key=True)


class EmployerFeedback(Model):
    """The employer's feedback on one student of a completed booking; the student sees the comment once staff release it."""

    __tablename__ = "employer_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), unique=True)
    # Copied from the booking so each side's lists are one indexed query.
    employer_id: Mapped[int] = mapped_column(ForeignKey("employers.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    attended: Mapped[str] = mapped_column(String(20))  # an Attendance code
    punctuality: Mapped[str] = mapped_column(String(20))  # a Punctuality code
    comment: Mapped[str | None] = mapped_column(Text)
    activity_comment: Mapped[str | None] = mapped_column(Text)
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    given_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    released_to_student_at: Mapped[dt.datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    booking: Mapped[Booking] = relationship()
    skill_rows: Mapped[list[FeedbackSkill]] = relationship(
        cascade="all, delete-orphan", order_by="FeedbackSkill.skill"
    )

    @property
    def ratings(self) -> dict[str, int]:
        """Skill code -> rating (1 to 4) for the skills the employer rated."""
        return {row.skill: row.rating for row in self.skill_rows}

    @property
    def released(self) -> bool:
        """Whether staff have released the employer's comment to the student."""
        return self.released_to_student_at is not None


class FeedbackSkill(Model):
    """The employer's rating of one Skills Builder skill, 1 (not yet) to 4 (very well)."""

    __tablename__ = "employer_feedback_skills"

    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("employer_feedback.id", ondelete="CASCADE"), primary_key=True
    )
    skill: Mapped[str] = mapped_column(String(30), primary_key=True)
    rating: Mapped[int]


class EncounterLog(Model):
    """An encounter or experience that did not go through the portal (a talk to Year 9, a part-time job)."""

    __tablename__ = "encounter_logs"
    __table_args__ = (Index("ix_encounter_logs_school_date", "school_id", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    held_on: Mapped[dt.date]
    activity_type: Mapped[str] = mapped_column(String(40))  # an ActivityType code
    employer_name: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    attendances: Mapped[list[EncounterAttendance]] = relationship(cascade="all, delete-orphan", back_populates="log")


class EncounterAttendance(Model):
    """One student on a logged encounter: whether they attended and whether it was debriefed."""

    __tablename__ = "encounter_attendances"

    log_id: Mapped[int] = mapped_column(ForeignKey("encounter_logs.id", ondelete="CASCADE"), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    attended: Mapped[bool] = mapped_column(default=True)
    debriefed: Mapped[bool] = mapped_column(default=False)

    log: Mapped[EncounterLog] = relationship(back_populates="attendances")
