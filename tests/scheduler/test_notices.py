"""claim() inserts each key once and returns only the keys this call inserted."""

from __future__ import annotations

from portal.extensions import db
from portal.scheduler.notices import claim
from tests.scheduler.helpers import keys


def test_claim_returns_only_new_keys_and_never_inserts_a_key_twice(app):
    assert claim(db.session, [{"key": "t:1", "kind": "test"}, {"key": "t:2", "kind": "test"}]) == {"t:1", "t:2"}
    assert claim(db.session, [{"key": "t:2", "kind": "test"}, {"key": "t:3", "kind": "test"},
                              {"key": "t:3", "kind": "test"}]) == {"t:3"}
    assert claim(db.session, [{"key": "t:1", "kind": "test"}]) == set()
    assert claim(db.session, []) == set()
    assert keys("t:") == ["t:1", "t:2", "t:3"]


def test_claim_handles_more_keys_than_one_batch(app):
    rows = [{"key": f"bulk:{i}", "kind": "test"} for i in range(2500)]
    assert len(claim(db.session, rows[:1200])) == 1200
    assert claim(db.session, rows) == {f"bulk:{i}" for i in range(1200, 2500)}
