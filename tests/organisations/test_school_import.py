"""Importing schools: our own columns or the national register's extract; all-or-nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.core.csvimport import ImportFailed
from portal.core.models import OutboxMessage
from portal.extensions import db
from portal.organisations.imports import gias_school_type, import_schools
from portal.organisations.models import Hub, School
from tests.factories import make_school, make_user

OWN = (
    "urn,name,school_type,postcode,hub,careers_leader_email\n"
    "700001,Moss Side High,mainstream,m13 9pl,Central Hub,leader@mossside.example\n"
    "700002,Hulme Special School,special,M1 3BN,Central Hub,\n"
)
GIAS_HEADER = (
    "URN,EstablishmentName,TypeOfEstablishment (code),TypeOfEstablishment (name),"
    "EstablishmentStatus (name),PhaseOfEducation (name),Postcode,LA (name)\n"
)


def _schools() -> dict[str, School]:
    return {s.urn: s for s in db.session.scalars(select(School))}


def test_own_format_creates_schools_hub_and_invites_the_careers_leader():
    report = import_schools(db.session, OWN.encode())
    assert (report.created, report.updated) == (2, 0)
    schools = _schools()
    assert schools["700001"].postcode == "M13 9PL"
    assert schools["700002"].school_type == "special"
    hub = db.session.scalars(select(Hub).where(Hub.name == "Central Hub")).one()
    assert schools["700001"].hub_id == hub.id
    leader = db.session.scalars(select(User).where(User.email == "leader@mossside.example")).one()
    assert leader.school_id == schools["700001"].id and not leader.has_password
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.recipient == "leader@mossside.example")) == 1


def test_reimport_updates_by_urn_and_never_duplicates():
    import_schools(db.session, OWN.encode())
    renamed = OWN.replace("Moss Side High", "Moss Side Academy")
    report = import_schools(db.session, renamed.encode())
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert _schools()["700001"].name == "Moss Side Academy"
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "leader@mossside.example")) == 1


def test_every_bad_row_is_reported_and_nothing_is_written():
    bad = (
        "urn,name,school_type,postcode\n"
        "700001,Good School,mainstream,M13 9PL\n"
        "12,Short Urn,mainstream,M13 9PL\n"
        "700003,,grammar,ZZZ\n"
        "700001,Duplicate,mainstream,M13 9PL\n"
    )
    with pytest.raises(ImportFailed) as failure:
        import_schools(db.session, bad.encode())
    found = {(e.line, e.column) for e in failure.value.errors}
    assert found == {(3, "urn"), (4, "name"), (4, "school_type"), (4, "postcode"), (5, "urn")}
    reasons = " ".join(e.reason for e in failure.value.errors)
    assert "unknown code 'grammar'" in reasons and "not a valid UK postcode" in reasons and "also on line 2" in reasons
    assert _schools() == {}


def test_missing_column_is_reported_on_the_header_line():
    with pytest.raises(ImportFailed) as failure:
        import_schools(db.session, b"urn,name,postcode\n700001,X,M1 3BN\n")
    assert [(e.line, e.column) for e in failure.value.errors] == [(1, "school_type")]


def test_careers_leader_email_of_another_organisation_is_a_row_error():
    other = make_user("employer", email="busy@example.org")
    with pytest.raises(ImportFailed) as failure:
        import_schools(db.session, b"urn,name,school_type,postcode,careers_leader_email\n700001,A,mainstream,M1 3BN,busy@example.org\n")
    assert failure.value.errors[0].column == "careers_leader_email"
    assert other.school_id is None


@pytest.mark.parametrize(
    ("code", "phase", "expected"),
    [
        (7, "Not applicable", "special"), (44, "Secondary", "special"),
        (14, "Not applicable", "alternative_provision"), (42, "Secondary", "alternative_provision"),
        (18, "16 plus", "college"), (31, "16 plus", "college"),
        (28, "Secondary", "mainstream"), (34, "All-through", "mainstream"),
        (1, "Middle deemed secondary", "mainstream"), (1, "16 plus", "mainstream"),
        (1, "Primary", None), (28, "Not applicable", None), (2, "Nursery", None),
    ],
)
def test_register_type_codes_map_to_school_types(code, phase, expected):
    result = gias_school_type(code, phase)
    assert (result.value if result else None) == expected


def test_register_extract_is_recognised_and_skips_closed_and_primary():
    rows = (
        "100001,Open Secondary,28,Academy sponsor led,Open,Secondary,M13 9PL,Manchester\n"
        "100002,Closed Secondary,28,Academy sponsor led,Closed,Secondary,M13 9PL,Manchester\n"
        "100003,Little Primary,1,Community school,Open,Primary,M13 9PL,Manchester\n"
        "100004,Oak Special,7,Community special school,\"Open, but proposed to close\",Not applicable,M1 3BN,Manchester\n"
        "100005,Pupil Referral Unit,14,Pupil referral unit,Open,Not applicable,M1 3BN,Manchester\n"
    )
    data = (GIAS_HEADER + rows).encode("cp1252")
    report = import_schools(db.session, data, hub_name="Manchester Hub")
    assert report.created == 3
    assert report.skipped == {"closed": 1, "not secondary or post-16": 1}
    schools = _schools()
    assert set(schools) == {"100001", "100004", "100005"}
    assert schools["100004"].school_type == "special"
    assert schools["100005"].school_type == "alternative_provision"
    assert schools["100001"].hub.name == "Manchester Hub"


def test_register_extract_in_windows_1252_keeps_accented_names():
    row = "100006,St Bede\u2019s Catholic College,18,Further education,Open,16 plus,M13 9PL,Manchester\n"
    import_schools(db.session, (GIAS_HEADER + row).encode("cp1252"))
    assert _schools()["100006"].name == "St Bede\u2019s Catholic College"


def test_existing_school_keeps_its_hub_when_the_row_has_none():
    school = make_school(urn="700001")
    hub = db.session.scalars(select(Hub)).first()
    import_schools(db.session, b"urn,name,school_type,postcode\n700001,Renamed,mainstream,M13 9PL\n")
    assert school.hub_id == (hub.id if hub and school.hub_id else school.hub_id)
    assert school.name == "Renamed"
