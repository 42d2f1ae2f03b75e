"""Journeys through the portal with the keyboard: the error summary, a careers leader adding a student,
and a visitor registering an employer. Each ends with the page checks on the page it lands on."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import url_for
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from portal.core.vocab import Role
from portal.demo import DEMO_PASSWORD
from tests.browser.checks import check_page, describe, focused
from tests.browser.conftest import PortalServer, Tab

pytestmark = pytest.mark.browser

Matcher = Callable[[dict[str, Any]], bool]


def field(element_id: str) -> Matcher:
    return lambda now: now.get("id") == element_id


def control(text: str) -> Matcher:
    """A link or button whose text is exactly `text`."""
    return lambda now: now.get("tag") in ("a", "button") and now.get("text") == text


def labelled(label: str) -> Matcher:
    """A control whose <label> reads `label` (a checkbox or radio, say)."""
    return lambda now: now.get("label") == label


def tab_to(page: Page, what: str, matches: Matcher, limit: int = 40) -> dict[str, Any]:
    """Press Tab until focus reaches what we want; fail (listing where focus went) if it never does."""
    path = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if matches(now):
            return now
        path.append(f"{now.get('tag')}#{now.get('id')} {now.get('text', '')[:30]!r}")
    pytest.fail(f"pressed Tab {limit} times without reaching {what}; focus went: {' → '.join(path)}")


def type_into(page: Page, element_id: str, text: str) -> None:
    """Tab to a field and type into it."""
    tab_to(page, f"the #{element_id} field", field(element_id))
    page.keyboard.type(text)


def press_enter_and_wait(page: Page) -> None:
    """Press Enter on the focused link or button and wait for the next page."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def path_of(server: PortalServer, endpoint: str) -> str:
    with server.app.test_request_context():
        return url_for(endpoint)


def assert_page_passes(tab: Tab) -> None:
    problems = check_page(tab.page, tab.monitor)
    assert not problems, describe(tab.page, problems)


QUESTION_IN_VIEW = """id => {
  const field = document.getElementById(id);
  const fieldset = field.closest('fieldset');
  const question = (['radio', 'checkbox'].includes(field.type) && fieldset && fieldset.querySelector('legend'))
    || (field.labels && field.labels[0]) || field;
  const inView = e => { const r = e.getBoundingClientRect(); return r.top > -1 && r.bottom < innerHeight + 1; };
  return inView(question) && inView(field);
}"""


WHERE = """id => {
  const field = document.getElementById(id);
  const label = field.labels && field.labels[0];
  const box = e => e ? (({top, bottom}) => ({top: Math.round(top), bottom: Math.round(bottom)}))(e.getBoundingClientRect()) : null;
  return {viewport: innerHeight, scrollY: Math.round(scrollY), field: box(field), label: box(label)};
}"""


# --- journey 5: the error summary -------------------------------------------------------------


@pytest.mark.parametrize(("path", "button"), [("/sign-in", "Sign in"), ("/register/school", "Register")])
def test_error_summary_takes_focus_and_each_link_moves_focus_to_its_field(
    open_tab: Callable[..., Tab], path: str, button: str,
) -> None:
    tab = open_tab(fresh=True)
    page = tab.page
    page.goto(path)
    tab_to(page, f"the {button!r} button", control(button))
    press_enter_and_wait(page)  # nothing filled in

    assert tab.monitor.last_document_status() == 400
    assert page.title().startswith("Error: ")
    summary = page.locator('[data-module="error-summary"]')
    expect(summary).to_be_focused()
    hrefs = summary.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert len(hrefs) >= 2, hrefs
    url = page.url

    for index, href in enumerate(hrefs):
        summary.focus()  # back to the summary, where focus was when the page loaded
        for _ in range(index + 1):
            page.keyboard.press("Tab")
        assert focused(page)["href"] == href, f"Tab {index + 1} times from the summary should reach its link {href}"
        page.keyboard.press("Enter")
        target = page.locator(f"[id='{href[1:]}']")
        expect(target).to_be_focused()
        assert page.url == url, "the link moves focus without navigating"
        # The question (label, or legend for radios and checkboxes) and the field are both in view
        # (once any smooth scrolling has finished).
        try:
            page.wait_for_function(QUESTION_IN_VIEW, arg=href[1:], timeout=3000)
        except PlaywrightTimeoutError:
            where = page.evaluate(WHERE, href[1:])
            pytest.fail(f"after {href}, the question and its field are not both in view: {where}")

    assert_page_passes(tab)


# --- foundation journeys --------------------------------------------------------------------------


def test_careers_leader_signs_in_and_adds_a_student_with_the_keyboard(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    tab = open_tab(fresh=True)
    page = tab.page
    page.goto("/sign-in")
    type_into(page, "email", portal_server.logins[Role.SCHOOL.value])
    type_into(page, "password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(path_of(portal_server, "organisations.school_home"))

    tab_to(page, 'the "Add a student" button', control("Add a student"))
    press_enter_and_wait(page)
    assert page.url.endswith(path_of(portal_server, "organisations.student_new"))

    reference = f"KB{uuid.uuid4().hex[:6].upper()}"
    born = dt.date(dt.date.today().year - 15, 3, 14)
    type_into(page, "first_name", "Maya")
    type_into(page, "last_name", "Okonkwo")
    type_into(page, "student_ref", reference)
    type_into(page, "year_group", "Year 10")  # a focused select picks the option by typing
    expect(page.locator("#year_group")).to_have_value("10")
    type_into(page, "tutor_group", "10B")
    type_into(page, "date_of_birth-day", str(born.day))
    type_into(page, "date_of_birth-month", str(born.month))
    type_into(page, "date_of_birth-year", str(born.year))
    tab_to(page, "the SEN provision radios", field("send_status-0"))  # Tab lands on the checked radio
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("SEN support", exact=True)).to_be_checked()
    tab_to(page, 'the "Quiet space" access need', labelled("Quiet space"))
    page.keyboard.press("Space")
    tab_to(page, 'the "Healthcare" interest', labelled("Healthcare"))
    page.keyboard.press("Space")
    tab_to(page, 'the "Save student" button', control("Save student"))
    press_enter_and_wait(page)

    assert re.search(r"/students/\d+$", page.url), f"expected the student's page, got {page.url}"
    expect(page.locator("h1")).to_have_text("Maya Okonkwo")
    expect(page.get_by_role("alert")).to_contain_text("Maya Okonkwo has been added")
    main = page.locator("main")
    for shown in (reference, "Year 10", "SEN support", "Quiet space", "Healthcare"):
        expect(main).to_contain_text(shown)
    assert_page_passes(tab)


def test_visitor_registers_an_employer_and_lands_on_the_employer_home(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    tab = open_tab(fresh=True)
    page = tab.page
    suffix = uuid.uuid4().hex[:6]
    organisation = f"Ancoats Bakery {suffix}"
    page.goto("/")
    tab_to(page, 'the "Register" button', control("Register"))
    press_enter_and_wait(page)
    tab_to(page, 'the "Register an employer" button', control("Register an employer"))
    press_enter_and_wait(page)
    assert page.url.endswith(path_of(portal_server, "accounts.register_employer"))

    type_into(page, "name", organisation)
    type_into(page, "sector", "Hospitality")
    expect(page.locator("#sector")).to_have_value("hospitality_food")
    type_into(page, "postcode", "M4 6BF")
    type_into(page, "person_name", "Jordan Reid")
    type_into(page, "email", f"jordan.reid.{suffix}@ancoatsbakery.example")
    type_into(page, "password", "violet harbour trumpet 47")
    tab_to(page, 'the "Register" button', control("Register"))
    press_enter_and_wait(page)

    assert page.url.endswith(path_of(portal_server, "organisations.employer_home")), page.url
    expect(page.locator("h1")).to_have_text(organisation)
    expect(page.locator("main")).to_contain_text("has not vetted your organisation yet")
    assert_page_passes(tab)


def test_a_new_registration_is_confirmed_with_a_success_banner(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    tab = open_tab(fresh=True)
    page = tab.page
    suffix = uuid.uuid4().hex[:6]
    page.goto(path_of(portal_server, "accounts.register_employer"))
    page.get_by_label("Organisation name").fill(f"Deansgate Print {suffix}")
    page.get_by_label("Main sector").select_option("creative_media")
    page.get_by_label("Postcode").fill("M3 3HF")
    page.get_by_label("Your full name").fill("Sam Patel")
    page.get_by_label("Your work email address").fill(f"sam.patel.{suffix}@deansgateprint.example")
    page.get_by_label("Create a password").fill("copper lantern meadow 19")
    with page.expect_navigation():
        page.get_by_role("button", name="Register").click()
    assert page.url.endswith(path_of(portal_server, "organisations.employer_home")), page.url
    expect(page.get_by_role("alert")).to_contain_text("Your organisation is registered", timeout=2000)
