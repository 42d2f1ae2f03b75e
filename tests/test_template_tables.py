"""Every table is rendered by the one macro, so caption, column scope and scroll region cannot be
forgotten."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
EXEMPT = ("macros", "email")  # the macro itself, and email bodies

CALL = """{% from "macros/ui.html" import table %}
{%- call table(caption, headers, **options) -%}
<tr class="pp-table__row"><td class="pp-table__cell">Row</td></tr>
{%- endcall %}"""
HEADER = re.compile(r'<th scope="col" class="([^"]*)">(.*?)</th>')
ROW = re.compile(
    r'<tbody>\s*<tr class="pp-table__row"><td class="pp-table__cell">Row</td></tr>\s*</tbody>'
)


def types_a_table(text: str) -> bool:
    """Whether a template's text opens a table itself instead of calling the macro."""
    return "<table" in text.lower()


def render(app: Flask, caption: str, headers: list[str], **options: object) -> str:
    """The macro's HTML for one call with a single body row."""
    with app.app_context():
        template = app.jinja_env.from_string(CALL)
        return template.render(caption=caption, headers=headers, options=options)


def test_the_rule_sees_a_hand_typed_table() -> None:
    assert types_a_table('<div>\n<TABLE class="pp-table">')
    assert not types_a_table('{% call table("Students", ["Name"]) %}')


def test_no_template_types_a_table_by_hand() -> None:
    found = [
        str(path.relative_to(TEMPLATES))
        for path in sorted(TEMPLATES.rglob("*"))
        if path.is_file()
        and path.relative_to(TEMPLATES).parts[0] not in EXEMPT
        and types_a_table(path.read_text(encoding="utf-8"))
    ]
    assert found == [], 'render these tables with {% call table(...) %} from "macros/ui.html"'


def test_the_macro_gives_caption_column_scope_numeric_class_and_region(app: Flask) -> None:
    headers = ["Name", "Year", "Students", "Actions"]
    html = render(app, "On roll", headers, numeric=(1, 2), visually_hidden=(3,))
    assert '<div class="pp-table-wrapper" tabindex="0" role="region" aria-label="On roll">' in html
    assert '<caption class="pp-table__caption pp-visually-hidden">On roll</caption>' in html
    assert HEADER.findall(html) == [
        ("pp-table__header", "Name"),
        ("pp-table__header pp-table__header--numeric", "Year"),
        ("pp-table__header pp-table__header--numeric", "Students"),
        ("pp-table__header", '<span class="pp-visually-hidden">Actions</span>'),
    ]
    assert html.count("<th ") == len(headers)
    assert ROW.search(html)


def test_the_region_label_and_caption_class_can_differ_from_the_caption(app: Flask) -> None:
    options = {"region_label": "Your API tokens", "caption_class": "pp-table__caption"}
    html = render(app, "Your tokens", ["Name"], **options)
    assert 'role="region" aria-label="Your API tokens">' in html
    assert '<caption class="pp-table__caption">Your tokens</caption>' in html


def test_a_caption_id_labels_the_region_by_the_caption(app: Flask) -> None:
    html = render(app, "Audit events", ["When"], caption_id="audit-caption")
    assert 'role="region" aria-labelledby="audit-caption">' in html
    assert "aria-label=" not in html
    assert 'pp-visually-hidden" id="audit-caption">Audit events</caption>' in html


def test_caption_and_headers_are_escaped(app: Flask) -> None:
    html = render(app, "Bookings <b>", ["Smith & Co"])
    assert 'aria-label="Bookings &lt;b&gt;"' in html
    assert ">Bookings &lt;b&gt;</caption>" in html
    assert HEADER.findall(html) == [("pp-table__header", "Smith &amp; Co")]
