"""The year and feature masks the search index reads agree with an offer's rows, whichever way the rows change."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

from sqlalchemy import select

from portal.extensions import db
from portal.offers.imports import import_offers
from portal.offers.models import FEATURE_BITS, YEAR_BITS, Offer, OfferFeature, OfferYearGroup
from portal.offers.search import OfferQuery, search_offers
from tests.factories import make_employer, make_offer
from tests.offers.test_imports import OFFERS_HEADER, _csv, _offer_row

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0010_offer_year_and_feature_masks.py"


def _found(**query) -> set[int]:
    return {item.offer.id for item in search_offers(db.session, OfferQuery(**query), per_page=100).items}


def _masks_disagreeing_with_rows() -> list[str]:
    """Offers whose stored masks differ from the masks of their year group and feature rows."""
    years: dict[int, int] = {}
    features: dict[int, int] = {}
    for offer_id, year in db.session.execute(select(OfferYearGroup.offer_id, OfferYearGroup.year_group)):
        years[offer_id] = years.get(offer_id, 0) | YEAR_BITS[year]
    for offer_id, code in db.session.execute(select(OfferFeature.offer_id, OfferFeature.feature)):
        features[offer_id] = features.get(offer_id, 0) | FEATURE_BITS[code]
    return [offer.offer_ref for offer in db.session.execute(
        select(Offer.offer_ref, Offer.id, Offer.year_mask, Offer.feature_mask)).all()
        if (offer.year_mask, offer.feature_mask) != (years.get(offer.id, 0), features.get(offer.id, 0))]


def test_bits_never_move_the_models_agree_with_the_migration_that_filled_the_masks():
    spec = importlib.util.spec_from_file_location("masks_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert FEATURE_BITS == migration.FEATURE_BITS
    assert YEAR_BITS == migration.YEAR_BITS


def test_changing_an_offers_collections_changes_what_the_search_finds():
    offer = make_offer(features=["step_free_access"], year_groups=[10])
    assert offer.id in _found(features=["step_free_access"], year_group=10)
    offer.features = [OfferFeature(feature="quiet_space")]
    offer.year_groups = [OfferYearGroup(year_group=12)]
    db.session.flush()
    assert offer.id not in _found(features=["step_free_access"])
    assert offer.id not in _found(year_group=10)
    assert offer.id in _found(features=["quiet_space"], year_group=12)
    assert _masks_disagreeing_with_rows() == []


def test_a_feature_row_added_or_deleted_on_its_own_changes_what_the_search_finds():
    """As an employer's yes to an adjustment request adds the feature for everyone."""
    offer = make_offer(features=[])
    db.session.add(OfferFeature(offer_id=offer.id, feature="flexible_hours"))
    db.session.flush()
    assert offer.id in _found(features=["flexible_hours"])
    db.session.delete(db.session.get_one(OfferFeature, (offer.id, "flexible_hours")))
    db.session.flush()
    assert offer.id not in _found(features=["flexible_hours"])
    assert _masks_disagreeing_with_rows() == []


def test_an_offer_needs_every_feature_asked_for_and_an_unknown_one_matches_nothing():
    both = make_offer(features=["step_free_access", "quiet_space"])
    one = make_offer(features=["quiet_space"])
    assert _found(features=["quiet_space", "step_free_access"]) == {both.id}
    assert _found(features=["quiet_space"]) == {both.id, one.id}
    assert _found(features=["quiet_space", "no_such_feature"]) == set()
    assert _found(year_group=99) == set()


def _stored_masks() -> tuple[int, int]:
    offer = db.session.execute(select(Offer.year_mask, Offer.feature_mask)).one()
    return offer.year_mask, offer.feature_mask


def test_imported_offers_have_the_masks_of_their_rows_on_creation_and_reimport():
    make_employer(ref="ACME", insurance_expiry=dt.date.today() + dt.timedelta(days=800))
    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row(years="12;13", features="bsl_makaton")))
    assert _stored_masks() == (YEAR_BITS[12] | YEAR_BITS[13], FEATURE_BITS["bsl_makaton"])
    import_offers(db.session, _csv(OFFERS_HEADER, _offer_row(years="9", features="quiet_space;remote_option")))
    assert _stored_masks() == (YEAR_BITS[9], FEATURE_BITS["quiet_space"] | FEATURE_BITS["remote_option"])
    assert _masks_disagreeing_with_rows() == []
