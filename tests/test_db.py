"""any_of: `IN` a list of values that keeps the index on SQLite and is one array parameter on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal.db import any_of
from portal.extensions import db
from portal.offers.models import Offer
from tests.factories import make_offer


def test_it_finds_exactly_the_rows_listed_and_none_for_an_empty_list():
    offers = [make_offer() for _ in range(3)]
    wanted = [offers[0].id, offers[2].id, 10**9]
    assert set(db.session.scalars(select(Offer.id).where(any_of(Offer.id, wanted)))) == {offers[0].id, offers[2].id}
    assert list(db.session.scalars(select(Offer.id).where(any_of(Offer.id, [])))) == []
    assert set(db.session.scalars(select(Offer.id).where(~any_of(Offer.id, wanted)))) == {offers[1].id}


def test_on_sqlite_it_is_a_plain_in_the_index_can_seek_never_compared_to_one():
    sql = str(select(Offer.id).where(any_of(Offer.lon_cell, [1, 2])).compile(dialect=sqlite.dialect()))
    assert "offers.lon_cell IN (__[POSTCOMPILE_" in sql
    assert "= 1" not in sql


def test_on_postgresql_the_statement_text_does_not_depend_on_how_many_values():
    def text(count: int) -> str:
        statement = select(Offer.id).where(any_of(Offer.id, range(count)))
        return str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True}))

    assert "offers.id = ANY (" in text(3)
    assert text(1) == text(80) == text(0)
