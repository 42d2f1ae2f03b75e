"""The served stylesheet carries every pattern the form macros render."""

import re

from flask.testing import FlaskClient


def _rule(css: str, selector: str) -> str:
    """The declarations of the first rule whose selector list names `selector`."""
    without_comments = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    for match in re.finditer(r"([^{}]+)\{([^}]*)\}", without_comments):
        selectors = [part.strip() for part in match.group(1).split(",")]
        if selector in selectors:
            return match.group(2)
    return ""


def test_date_input_parts_sit_side_by_side(client: FlaskClient) -> None:
    """Day, Month and Year boxes are inline blocks, not stacked full-width inputs."""
    css = client.get("/static/css/portal.css").get_data(as_text=True)
    item = _rule(css, ".pp-date-input__item")
    assert "display: inline-block" in item
    assert "margin-right" in item
    assert _rule(css, ".pp-date-input"), "the date-input container has no rule"
    assert "width" in _rule(css, ".pp-date-input .pp-input"), "date parts would fill the line"
