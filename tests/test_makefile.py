"""make run/serve hand the app the address they serve on, so links in emails and printed sign-in links work."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from flask import Flask

from portal.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SHOW = "show-base-url: ; @echo $$PORTAL_BASE_URL"


def _base_url_seen_by_recipes(*args: str, env: dict[str, str] | None = None) -> str:
    """What PORTAL_BASE_URL a Makefile recipe's shell sees."""
    make = shutil.which("make")
    if make is None:
        pytest.fail("GNU make is needed to check the Makefile")
    environment = {k: v for k, v in os.environ.items() if k != "PORTAL_BASE_URL"} | (env or {})
    done = subprocess.run([make, "-s", "-C", str(ROOT), f"--eval={SHOW}", "show-base-url", *args],
                          capture_output=True, text=True, env=environment, check=True)
    return done.stdout.strip()


def test_make_passes_its_host_and_port_as_the_base_url():
    assert _base_url_seen_by_recipes() == "http://127.0.0.1:5000"
    assert _base_url_seen_by_recipes("HOST=0.0.0.0", "PORT=8123") == "http://0.0.0.0:8123"


def test_a_base_url_already_set_in_the_environment_wins():
    assert _base_url_seen_by_recipes("PORT=8123", env={"PORTAL_BASE_URL": "https://portal.example"}) == "https://portal.example"


def test_the_config_takes_the_base_url_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_BASE_URL", "http://127.0.0.1:8123")
    app = Flask("portal", instance_path=str(tmp_path))
    load_config(app, None)
    assert app.config["BASE_URL"] == "http://127.0.0.1:8123"
