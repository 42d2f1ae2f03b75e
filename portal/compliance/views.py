"""Compliance pages: DBS notes, parental consent (the school's request and the parent's link), briefing."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compliance", __name__)
