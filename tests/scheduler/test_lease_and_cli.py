"""The leader lease (one scheduler at a time; a lapsed lease is taken over), `tick --now`, `status` and /healthz."""

from __future__ import annotations

import datetime as dt
import json

import click
import pytest

from portal.extensions import db
from portal.scheduler import lease
from portal.scheduler.cli import parse_now
from tests.scheduler.helpers import tick

T0 = dt.datetime(2027, 5, 24, 8, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(seconds=900)


def test_a_second_holder_is_refused_while_the_lease_is_live_and_takes_over_after_it_expires(app):
    assert lease.acquire(db.session, "alpha", TTL, T0)
    assert not lease.acquire(db.session, "beta", TTL, T0 + dt.timedelta(seconds=899))
    assert lease.acquire(db.session, "alpha", TTL, T0 + dt.timedelta(seconds=600))  # the leader renews
    assert not lease.acquire(db.session, "beta", TTL, T0 + dt.timedelta(seconds=1400))  # renewed until T0+1500
    assert lease.acquire(db.session, "beta", TTL, T0 + dt.timedelta(seconds=1501))  # lapsed: beta takes over
    assert lease.current(db.session).holder == "beta"
    assert not lease.renew(db.session, "alpha", TTL, T0 + dt.timedelta(seconds=1502))  # alpha must stop


def test_release_frees_the_lease_only_for_its_holder(app):
    assert lease.acquire(db.session, "alpha", TTL, T0)
    assert not lease.release(db.session, "beta")
    assert lease.current(db.session).holder == "alpha"
    assert lease.release(db.session, "alpha")
    assert lease.acquire(db.session, "beta", TTL, T0 + dt.timedelta(seconds=1))


def test_tick_waits_for_the_lead_and_exits_2_when_another_scheduler_keeps_it(app):
    assert lease.acquire(db.session, "other-process", TTL)
    result = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "2027-05-24T09:00", "--wait", "0"])
    assert result.exit_code == 2
    assert "Another scheduler leads (other-process" in result.output
    lease.release(db.session, "other-process")
    assert tick(app, "2027-05-24T09:00")["ok"]
    assert lease.current(db.session).holder is None  # tick hands the lead back when done


def test_naive_now_is_london_time_and_aware_now_is_converted():
    assert parse_now("2027-07-01T09:00") == dt.datetime(2027, 7, 1, 8, 0, tzinfo=dt.UTC)  # BST
    assert parse_now("2027-01-15T09:00") == dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC)  # GMT
    assert parse_now("2027-07-01T09:00+02:00") == dt.datetime(2027, 7, 1, 7, 0, tzinfo=dt.UTC)
    with pytest.raises(click.BadParameter):
        parse_now("next tuesday")


def test_tick_prints_every_count_and_status_reports_the_last_run(app, client):
    output = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "2027-05-24T09:00", "--wait", "0"]).output
    for label in ("bookings completed", "reflection prompts", "reflection reminders", "feedback requests",
                  "compliance reminders", "escalations", "insurance reminders", "weekly digests",
                  "DBS details purged", "leavers' records removed", "emails delivered"):
        assert label in output
    status = app.test_cli_runner().invoke(args=["scheduler", "status", "--json"])
    report = json.loads(status.output)
    assert report["last_run_for"] == "2027-05-24T08:00:00+00:00"
    assert report["summary"]["ok"] and report["leader"] is None
    human = app.test_cli_runner().invoke(args=["scheduler", "status"]).output
    assert "for 24 May 2027, 9:00am" in human and "Leader:    none" in human

    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["scheduler"]["last_run_for"] == "2027-05-24T08:00:00+00:00"
    assert health.get_json()["scheduler"]["last_run_at"] is not None


def test_healthz_reports_no_scheduler_run_as_null(client):
    assert client.get("/healthz").get_json()["scheduler"] == {"last_run_at": None, "last_run_for": None}
