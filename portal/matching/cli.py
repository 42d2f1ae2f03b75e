"""`flask match`: ranked matches for one student, for operators and scripts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from portal.api.schema import NearMiss, UnmetNeed, dump
from portal.core.dates import to_london
from portal.core.vocab import ActivityType
from portal.extensions import db
from portal.matching.services import DEFAULT_RADIUS_KM, MatchRequest, match_student
from portal.organisations.models import School, Student


def _date(value: str | None, name: str) -> dt.date | None:
    """Parse YYYY-MM-DD or explain."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD", param_hint=name) from None


@click.command("match")
@click.option("--school", "school_urn", required=True, help="URN of the student's school.")
@click.option("--student", "student_ref", required=True, help="The school's reference for the student.")
@click.option("--radius-km", type=click.FloatRange(1, 500), default=DEFAULT_RADIUS_KM, show_default=True)
@click.option("--types", default="", help="Activity type codes, comma-separated (default: any).")
@click.option("--from", "date_from", help="First day, YYYY-MM-DD.")
@click.option("--to", "date_to", help="Last day, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON: matches (offer_ref, session_start, distance_km, score, reasons), explanations, "
                   "unmet, blocked_by, near_misses.")
@with_appcontext
def match_command(school_urn: str, student_ref: str, radius_km: float, types: str, date_from: str | None,
                  date_to: str | None, as_json: bool) -> None:
    """Print the ranked matches for one student."""
    school = db.session.scalars(select(School).where(School.urn == school_urn)).first()
    if school is None:
        raise click.ClickException(f"No school has URN {school_urn}")
    student = db.session.scalars(
        select(Student).where(Student.school_id == school.id, Student.student_ref == student_ref)
    ).first()
    if student is None:
        raise click.ClickException(f"No student with reference {student_ref} at {school.name}")
    codes = [t.strip() for t in types.split(",") if t.strip()]
    for code in codes:
        try:
            ActivityType.parse(code)
        except ValueError:
            raise click.BadParameter(f"unknown activity type {code!r}", param_hint="--types") from None
    request = MatchRequest(activity_types=tuple(codes), radius_km=radius_km,
                           date_from=_date(date_from, "--from"), date_to=_date(date_to, "--to"))
    outcome = match_student(db.session, student, request)
    rows: list[dict[str, Any]] = [
        {
            "offer_ref": m.offer.offer_ref, "title": m.offer.title,
            "session_start": to_london(m.session.starts_at).isoformat(),
            "distance_km": None if m.distance_km is None else round(m.distance_km, 2),
            "score": m.score, "reasons": m.reasons,
        }
        for m in outcome.matches
    ]
    if as_json:
        click.echo(json.dumps({
            "student_ref": student_ref, "matches": rows, "explanations": outcome.explanations,
            "unmet": [dump(UnmetNeed.of(u)) for u in outcome.unmet],
            "blocked_by": [str(rule) for rule in outcome.blocked_by],
            "near_misses": [{key: value for key, value in dump(NearMiss.of(m)).items() if key != "offer_title"}
                            for m in outcome.near_misses],
        }, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No matches.")
        for reason in outcome.explanations:
            click.echo(f"  {reason}")
    for miss in outcome.near_misses:
        distance = "virtual" if miss.distance_km is None else f"{miss.distance_km:.1f} km"
        click.echo(f"Nearly fits: {miss.offer.offer_ref}  {to_london(miss.session.starts_at).isoformat()}  {distance}  "
                   f"missing {', '.join(miss.missing)}")
    for row in rows:
        distance = "virtual" if row["distance_km"] is None else f"{row['distance_km']} km"
        click.echo(f"{row['score']:>3}  {row['offer_ref']}  {row['session_start']}  {distance}  {row['title']}")
        click.echo(f"     {' · '.join(row['reasons'])}")


def register_commands(app: Flask) -> None:
    """Add `match_command` to the app's commands."""
    app.cli.add_command(match_command)
