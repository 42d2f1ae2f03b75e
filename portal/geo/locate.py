"""Locating schools, employers and offers from their postcodes, with messages a person can act on."""

from __future__ import annotations

from typing import Any

from portal.core.postcodes import InvalidPostcode, normalise_postcode, outward_code
from portal.geo import Location, UnknownPostcode, get_geocoder


class PostcodeProblem(ValueError):
    """A postcode that cannot be placed on the map; the message says why, for forms and import rows."""


def locate(raw_postcode: str) -> Location:
    """Locate a postcode, or raise PostcodeProblem with a message for the person who typed it."""
    try:
        postcode = normalise_postcode(raw_postcode)
    except InvalidPostcode as exc:
        raise PostcodeProblem("Enter a real postcode, like SW1A 1AA") from exc
    try:
        return get_geocoder().locate(postcode)
    except InvalidPostcode as exc:
        raise PostcodeProblem("Enter a real postcode, like SW1A 1AA") from exc
    except UnknownPostcode as exc:
        raise PostcodeProblem(
            f"We cannot find the postcode district {outward_code(postcode)} on our map: check the postcode"
        ) from exc


def place(target: Any, location: Location | None) -> None:
    """Copy a location (or none) onto anything with latitude, longitude and location_approximate."""
    target.latitude = location.latitude if location else None
    target.longitude = location.longitude if location else None
    target.location_approximate = bool(location and location.approximate)


class LocationCache:
    """Locate each distinct postcode once (imports): postcode -> Location or the problem's message."""

    def __init__(self) -> None:
        """Start empty."""
        self._seen: dict[str, Location | str] = {}

    def get(self, postcode: str) -> Location | str:
        """The location of a normalised postcode, or the message explaining why there is none."""
        found = self._seen.get(postcode)
        if found is None:
            try:
                found = locate(postcode)
            except PostcodeProblem as problem:
                found = str(problem)
            self._seen[postcode] = found
        return found
