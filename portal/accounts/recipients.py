"""Who can be reached by email: the active, signed-up staff of schools and employers, and each school's careers leader."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select

from portal.accounts.models import User
from portal.core.batches import chunked
from portal.core.vocab import Role
from portal.db import DbSession
from portal.organisations.models import School


@dataclass
class Directory:
    """Active, signed-up staff of the schools and employers a job writes to, loaded in two queries."""

    school_staff: dict[int, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))
    leaders: dict[int, int | None] = field(default_factory=dict)
    employer_staff: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, session: DbSession, school_ids: Iterable[int] = (), employer_ids: Iterable[int] = ()) -> Directory:
        """Staff (and the careers leader) of the given schools and employers."""
        directory = cls()
        for chunk in chunked(sorted(set(school_ids))):
            for school_id, leader_id in session.execute(
                    select(School.id, School.careers_leader_id).where(School.id.in_(chunk))).tuples():
                directory.leaders[school_id] = leader_id
            for user_id, email, staff_school in session.execute(
                select(User.id, User.email, User.school_id)
                .where(User.school_id.in_(chunk), User.role == Role.SCHOOL.value, User.is_active,
                       User.password_hash.is_not(None)).order_by(User.email)
            ).tuples():
                if staff_school is not None:
                    directory.school_staff[staff_school][user_id] = email
        for chunk in chunked(sorted(set(employer_ids))):
            for email, staff_employer in session.execute(
                select(User.email, User.employer_id)
                .where(User.employer_id.in_(chunk), User.role == Role.EMPLOYER.value, User.is_active,
                       User.password_hash.is_not(None)).order_by(User.email)
            ).tuples():
                if staff_employer is not None:
                    directory.employer_staff[staff_employer].append(email)
        return directory

    def school_leads(self, school_id: int) -> list[str]:
        """The careers leader, or every member of staff when none is set (or the leader cannot sign in)."""
        staff = self.school_staff.get(school_id, {})
        leader = self.leaders.get(school_id)
        if leader is not None and leader in staff:
            return [staff[leader]]
        return list(staff.values())

    def booking_staff(self, school_id: int, requested_by_id: int | None) -> list[str]:
        """The member of staff who requested the booking, else the careers leader (or all staff)."""
        staff = self.school_staff.get(school_id, {})
        if requested_by_id is not None and requested_by_id in staff:
            return [staff[requested_by_id]]
        return self.school_leads(school_id)

    def employer(self, employer_id: int) -> list[str]:
        """The employer's active staff."""
        return list(self.employer_staff.get(employer_id, []))


def employer_staff_emails(session: DbSession, employer_id: int) -> list[str]:
    """Addresses of the employer's active, signed-up staff."""
    return Directory.load(session, employer_ids=[employer_id]).employer(employer_id)
