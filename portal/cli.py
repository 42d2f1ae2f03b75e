"""Command-line interface: every feature registers its own commands on the app."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

FEATURE_COMMANDS = (
    "portal.core.cli",
    "portal.accounts.cli",
    "portal.organisations.cli",
    "portal.offers.cli",
    "portal.reflections.cli",
    "portal.progress.cli",
    "portal.matching.cli",
    "portal.geo.cli",
    "portal.api.cli",
    "portal.scheduler.cli",
    "portal.demo",
)


def register_cli(app: Flask) -> None:
    """Let each feature attach its commands (the `import` group is filled by the features that import)."""
    for module in FEATURE_COMMANDS:
        import_module(module).register_commands(app)
