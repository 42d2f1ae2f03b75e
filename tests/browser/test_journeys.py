"""Journeys through the portal with the keyboard: the error summary, a careers leader adding a student,
a visitor registering an employer, an employer publishing an offer, a careers leader importing the
roster and booking a student with access needs, and an employer confirming a booking without seeing
more of the student than the placement needs. Each ends with the page checks on the page it lands on."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import url_for
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from portal.accounts.models import User
from portal.bookings.services import book_student
from portal.core.dates import academic_year, london_date
from portal.core.vocab import Role
from portal.db import utcnow
from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.offers.models import Offer
from portal.organisations.models import Student
from portal.organisations.services import StudentDetails, apply_details
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
    assert page.url.endswith(path_of(portal_server, "home.school_home"))

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

    assert page.url.endswith(path_of(portal_server, "home.employer_home")), page.url
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
    assert page.url.endswith(path_of(portal_server, "home.employer_home")), page.url
    expect(page.get_by_role("alert")).to_contain_text("Your organisation is registered", timeout=2000)


# --- journeys 1-3: an employer publishes an offer; a school imports, matches and books; the employer confirms


HOSPITAL_DAY = "Hospital careers insight day"  # Manchester Royal Infirmary (M13 9WL), Years 10-12, near Northgate
HOSPITAL_DAY_NEEDS = ("quiet_space", "step_free_access", "accessible_toilet")  # only this demo offer has all three
NEED_LABELS = {"quiet_space": "quiet space", "step_free_access": "step-free access", "accessible_toilet": "accessible toilet"}


def starts(text: str, naming: str = "") -> Matcher:
    """A link or button whose text starts with `text` and, when given, names `naming` (buttons that
    name their object in a visually hidden span, which innerText puts on a line of its own)."""
    def matches(now: dict[str, Any]) -> bool:
        shown = " ".join(now.get("text", "").split())
        return now.get("tag") in ("a", "button") and shown.startswith(text) and naming in shown
    return matches


def check_with_space(page: Page, label: str, limit: int = 40) -> None:
    """Tab to a checkbox or radio by its label and press Space; it must end up checked."""
    tab_to(page, f"the {label!r} option", labelled(label), limit)
    page.keyboard.press("Space")
    expect(page.get_by_label(label, exact=True)).to_be_checked()


def replace_in(page: Page, element_id: str, text: str) -> None:
    """Tab to a field that already has a value, select what is there and type over it."""
    tab_to(page, f"the #{element_id} field", field(element_id))
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def type_date(page: Page, field_id: str, day: dt.date) -> None:
    """Fill a day / month / year date input with the keyboard."""
    type_into(page, f"{field_id}-day", str(day.day))
    type_into(page, f"{field_id}-month", str(day.month))
    type_into(page, f"{field_id}-year", str(day.year))


def follow_nav(page: Page, label: str) -> None:
    """Click a link in the header's main navigation and wait for the page."""
    with page.expect_navigation():
        page.get_by_role("navigation", name="Main").get_by_role("link", name=label, exact=True).click()


def sign_in(page: Page, email: str) -> None:
    """Sign in through the form with the keyboard as a demo user."""
    page.goto("/sign-in")
    type_into(page, "email", email)
    type_into(page, "password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/sign-in" not in page.url, f"signing in as {email} failed: still on {page.url}"


def weekday_ahead(days: int) -> dt.date:
    """A Monday-to-Friday date about `days` days from today."""
    day = dt.date.today() + dt.timedelta(days=days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def year_10_birthday(month: int, day: int) -> dt.date:
    """A date of birth in the right range for Year 10 this academic year (September to August)."""
    first_year = academic_year(dt.date.today()) - 15  # Year 10 in 2026/27: born Sep 2011 - Aug 2012
    return dt.date(first_year if month >= 9 else first_year + 1, month, day)


def printed_dates(day: dt.date) -> list[str]:
    """A date as the portal and its exports print it, and the common UK and ISO forms."""
    return [f"{day.day} {day:%B %Y}", f"{day.day} {day:%b %Y}", f"{day:%d/%m/%Y}", f"{day.day}/{day.month}/{day.year}",
            day.isoformat()]


def test_employer_registers_completes_profile_and_publishes_an_offer_with_the_keyboard(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    """Journey 1: a new employer registers, completes its profile, creates an offer with SEND-ready
    features, adds a session and publishes it; a hub vets the employer; a careers leader finds the offer."""
    tab = open_tab(fresh=True)
    page = tab.page
    suffix = uuid.uuid4().hex[:6]
    organisation = f"Northern Quarter Bakery {suffix}"
    title = f"Bakery work experience {suffix}"
    insurance_expiry = dt.date.today() + dt.timedelta(days=365)
    session_day = weekday_ahead(24)

    # Register (a fresh account with a unique email).
    page.goto(path_of(portal_server, "accounts.register_employer"))
    type_into(page, "name", organisation)
    type_into(page, "sector", "Hospitality")
    expect(page.locator("#sector")).to_have_value("hospitality_food")
    type_into(page, "postcode", "M4 1HN")
    type_into(page, "person_name", "Aisha Rahman")
    type_into(page, "email", f"aisha.rahman.{suffix}@nqbakery.example")
    type_into(page, "password", "amber kettle orchard 52")
    tab_to(page, 'the "Register" button', control("Register"))
    press_enter_and_wait(page)
    assert page.url.endswith(path_of(portal_server, "home.employer_home")), page.url

    # Complete the profile: safeguarding lead, insurance valid for a year, the bakery's real postcode.
    follow_nav(page, "Profile")
    tab_to(page, 'the "Change your profile" button', control("Change your profile"))
    press_enter_and_wait(page)
    assert page.url.endswith(path_of(portal_server, "offers.profile_edit")), page.url
    type_into(page, "address", "Unit 4, Hatters Yard, Manchester")
    replace_in(page, "postcode", "M1 5GD")
    type_into(page, "safeguarding_lead_name", "Helen Crossley")
    type_into(page, "safeguarding_lead_email", f"safeguarding.{suffix}@nqbakery.example")
    type_into(page, "safeguarding_lead_phone", "0161 496 0321")
    type_into(page, "insurer", "Northern Mutual Insurance")
    type_date(page, "insurance_expiry", insurance_expiry)
    tab_to(page, 'the "Save profile" button', control("Save profile"))
    press_enter_and_wait(page)
    assert page.url.endswith(path_of(portal_server, "offers.profile")), page.url
    expect(page.get_by_role("alert")).to_contain_text("Your profile has been saved.")
    main = page.locator("main")
    for shown in ("Helen Crossley", "M1 5GD", f"{insurance_expiry.day} {insurance_expiry:%B %Y}"):
        expect(main).to_contain_text(shown)

    # Create the offer: on site, Years 10 and 11, two sectors, two SEND-ready features with notes.
    follow_nav(page, "Offers")
    tab_to(page, 'the "Create an offer" button', control("Create an offer"))
    press_enter_and_wait(page)
    assert page.url.endswith(path_of(portal_server, "offers.offer_new")), page.url
    type_into(page, "title", title)
    type_into(page, "description", "Bake bread and pastries with our team before the shop opens, then serve customers.")
    type_into(page, "activity_type", "Work experience")
    expect(page.locator("#activity_type")).to_have_value("work_experience")
    check_with_space(page, "At the employer's site")  # no radio is checked: Tab lands on the first
    expect(page.get_by_label("At our address", exact=True)).to_be_checked()
    check_with_space(page, "Year 10")
    check_with_space(page, "Year 11")
    check_with_space(page, "Hospitality and food")
    check_with_space(page, "Retail and sales")
    check_with_space(page, "Supporting adult may attend")
    type_into(page, "note_supporting_adult_welcome", "A parent or teaching assistant can bake alongside")
    check_with_space(page, "Visual or easy-read instructions")
    type_into(page, "note_easy_read_materials", "Picture recipe cards for every bake")
    tab_to(page, 'the "Save as a draft" button', control("Save as a draft"))
    press_enter_and_wait(page)
    assert re.search(r"/employer/offers/\d+$", page.url), f"expected the offer's page, got {page.url}"
    expect(page.get_by_role("alert")).to_contain_text("Your offer is saved as a draft")
    expect(page.locator("main")).to_contain_text("Draft")

    # Add a session a few weeks ahead.
    tab_to(page, 'the "Add a session" button', control("Add a session"))
    press_enter_and_wait(page)
    type_date(page, "start_date", session_day)
    type_into(page, "start_time", "9:30am")
    type_into(page, "end_time", "1:30pm")
    type_into(page, "capacity", "4")
    tab_to(page, 'the "Save session" button', control("Save session"))
    press_enter_and_wait(page)
    expect(page.get_by_role("alert")).to_contain_text("The session has been added.")
    sessions = page.get_by_role("table", name="Sessions of this offer (UK time)")
    expect(sessions).to_contain_text(f"{session_day.day} {session_day:%B %Y}")
    expect(sessions).to_contain_text("4")

    # Publish it.
    tab_to(page, 'the "Publish" button', starts("Publish", title))
    press_enter_and_wait(page)
    expect(page.get_by_role("alert")).to_contain_text("The offer is now published.")
    expect(page.locator("main .pp-tag").first).to_have_text("Published")
    expect(page.locator("main")).to_contain_text("A careers hub has not vetted your organisation yet")
    assert_page_passes(tab)

    # The hub coordinator vets the new employer...
    hub = open_tab(Role.HUB.value, fresh=True)
    hub.page.goto(path_of(portal_server, "organisations.hub_employers") + "?status=pending")
    tab_to(hub.page, f"the button vetting {organisation}", starts("Mark as vetted", organisation))
    press_enter_and_wait(hub.page)
    expect(hub.page.get_by_role("alert")).to_contain_text(f"{organisation} is now vetted.")

    # ...and the careers leader at Northgate Academy finds the offer within 10 km.
    school = open_tab(Role.SCHOOL.value, fresh=True)
    spage = school.page
    spage.goto(path_of(portal_server, "offers.search"))
    type_into(spage, "radius", "10 km")  # "10" alone picks "100 km" after the default "25 km"
    expect(spage.locator("#radius")).to_have_value("10")
    type_into(spage, "year_group", "Year 10")
    tab_to(spage, 'the "Apply filters" button', control("Apply filters"))
    press_enter_and_wait(spage)
    expect(spage.locator("main")).to_contain_text("Within 10 km of Northgate Academy")
    with spage.expect_navigation():
        spage.get_by_role("link", name=title, exact=True).click()
    expect(spage.locator("h1")).to_have_text(title)
    features = spage.locator("main")
    expect(features).to_contain_text("Supporting adult may attend: A parent or teaching assistant can bake alongside")
    expect(features).to_contain_text("Visual or easy-read instructions: Picture recipe cards for every bake")
    assert_page_passes(school)


def test_careers_leader_imports_a_roster_matches_a_student_with_needs_and_books(
    open_tab: Callable[..., Tab], portal_server: PortalServer, tmp_path: Any,
) -> None:
    """Journey 2: a careers leader uploads the roster, searches offers within 10 km, opens the new
    student with access needs, finds placements that meet every need, and books one."""
    tab = open_tab(Role.SCHOOL.value, fresh=True)
    page = tab.page
    suffix = uuid.uuid4().hex[:6].upper()
    first, last = "Tariq", f"Osei-{suffix.title()}"
    born = year_10_birthday(11, 2)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student_ref,first_name,last_name,year_group,date_of_birth,send_status,needs,disadvantaged,"
        "sector_interests,upn,tutor_group\n"
        f"J2{suffix}A,{first},{last},10,{born.isoformat()},K,{';'.join(HOSPITAL_DAY_NEEDS)},yes,healthcare,"
        f"A{uuid.uuid4().int % 10**12:012d},10C\n"
        f"J2{suffix}B,Ffion,Lloyd-{suffix.title()},10,{year_10_birthday(5, 19).isoformat()},N,,no,,"
        f"B{uuid.uuid4().int % 10**12:012d},10C\n",
        encoding="utf-8",
    )

    # Import the roster through the browser upload.
    page.goto(path_of(portal_server, "home.school_home"))
    follow_nav(page, "Students")
    tab_to(page, 'the "Import from your MIS" button', control("Import from your MIS"))
    press_enter_and_wait(page)
    assert page.url.endswith(path_of(portal_server, "organisations.roster_import")), page.url
    page.locator("#file").set_input_files(str(roster))
    tab_to(page, 'the "Upload and import" button', control("Upload and import"))
    press_enter_and_wait(page)
    expect(page.locator("h1")).to_have_text("Roster imported")
    expect(page.locator("main")).to_contain_text("2 new, 0 updated, 0 unchanged")

    # Search offers within 10 km of the school.
    follow_nav(page, "Find offers")
    type_into(page, "radius", "10 km")
    expect(page.locator("#radius")).to_have_value("10")
    tab_to(page, 'the "Apply filters" button', control("Apply filters"))
    press_enter_and_wait(page)
    results = page.locator("main")
    expect(results).to_contain_text("Within 10 km of Northgate Academy")
    expect(page.get_by_role("link", name=HOSPITAL_DAY, exact=True)).to_be_visible()

    # Open the new student with access needs.
    follow_nav(page, "Students")
    type_into(page, "q", f"{first} {last}")
    press_enter_and_wait(page)  # Enter in the search box submits the search
    with page.expect_navigation():
        page.get_by_role("link", name=f"{last}, {first}", exact=True).click()
    expect(page.locator("h1")).to_have_text(f"{first} {last}")
    expect(page.locator("main")).to_contain_text("Quiet space")

    # Find placements: every result meets each need, and the reasons say so.
    tab_to(page, f'the "Find placements for {first}" button', control(f"Find placements for {first}"))
    press_enter_and_wait(page)
    expect(page.locator("main")).to_contain_text(f"for {first}")
    card = page.locator("article.pp-card").filter(has=page.get_by_role("heading", name=HOSPITAL_DAY, exact=True)).first
    expect(card).to_be_visible()
    reasons = card.locator("p.pp-body").first
    for code in HOSPITAL_DAY_NEEDS:
        expect(reasons).to_contain_text(f"{NEED_LABELS[code]} ✓")

    # Book it with the keyboard.
    book = card.get_by_role("button", name=f"Book {first}", exact=True)
    book.focus()
    press_enter_and_wait(page)
    expect(page.locator("h1")).to_have_text("1 booking request sent")
    expect(page.locator("main")).to_contain_text(HOSPITAL_DAY)
    expect(page.get_by_role("link", name=re.compile(rf"^{re.escape(first)} {re.escape(last)} \(Year ")).first).to_be_visible()
    assert_page_passes(tab)


@dataclass(frozen=True)
class Requested:
    """A booking request made for the employer journey, and what the employer must (not) see of the student."""

    booking_id: int
    employer_email: str
    first_name: str
    last_name: str
    year_group: int
    school: str
    date_of_birth: dt.date
    upn: str


def request_a_place(server: PortalServer) -> Requested:
    """A new Northgate student with an EHCP and access needs, booked (through the bookings service, as
    the careers leader) on the hospital insight day: independent of the order the journeys run in."""
    suffix = uuid.uuid4().hex[:6].upper()
    details = StudentDetails(
        student_ref=f"J3{suffix}", first_name="Elowen", last_name=f"Ashworth-{suffix.title()}", year_group=10,
        date_of_birth=year_10_birthday(3, 14), send_status="ehcp", disadvantaged=True,
        upn=f"C{uuid.uuid4().int % 10**12:012d}", tutor_group="10A", needs=["quiet_space", "step_free_access"],
        interests=["healthcare"],
    )
    with server.app.app_context():
        leader = db.session.scalars(select(User).where(User.email == server.logins[Role.SCHOOL.value])).one()
        school = leader.school
        assert school is not None, "the demo careers leader has no school"
        student = Student(school_id=school.id)
        student.school = school
        apply_details(student, details)
        db.session.add(student)
        db.session.flush()
        offer = db.session.scalars(select(Offer).where(Offer.title == HOSPITAL_DAY)).one()
        earliest = london_date(utcnow()) + dt.timedelta(days=school.min_notice_days + 1)
        occurrence = next(s for s in sorted(offer.sessions, key=lambda s: s.starts_at)
                          if london_date(s.starts_at) >= earliest and s.booked < s.capacity)
        booking = book_student(db.session, leader, student, occurrence)
        owner = db.session.scalars(
            select(User.email).where(User.employer_id == offer.employer_id).order_by(User.id)
        ).first()
        assert owner is not None, f"nobody signs in for {offer.employer.name}"
        requested = Requested(booking.id, owner, details.first_name, details.last_name, details.year_group,
                              school.name, details.date_of_birth, details.upn or "")
        db.session.commit()
    return requested


def test_employer_confirms_a_booking_request_with_the_keyboard_and_sees_only_what_it_needs(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    """Journey 3: the offer's employer opens Bookings, opens the request, confirms it with the keyboard,
    and sees the student's first name, year group and school, but no surname, date of birth, UPN or SEND status."""
    requested = request_a_place(portal_server)
    tab = open_tab(fresh=True)
    page = tab.page
    sign_in(page, requested.employer_email)

    follow_nav(page, "Bookings")
    link = page.locator(f"a[href$='/employer/bookings/{requested.booking_id}']")
    expect(link).to_have_text(requested.first_name)  # the list names the student by first name only
    row = page.get_by_role("row").filter(has=link)
    expect(row).to_contain_text(f"Year {requested.year_group}")
    expect(row).to_contain_text(requested.school)
    expect(row).to_contain_text("Requested")
    with page.expect_navigation():
        link.click()
    expect(page.locator("h1")).to_have_text(f"Booking for {requested.first_name}")

    check_with_space(page, "Yes, confirm the place")  # no radio is checked: Tab lands on the first
    tab_to(page, 'the "Send answer" button', control("Send answer"))
    press_enter_and_wait(page)

    assert tab.monitor.last_document_status() == 200
    expect(page.get_by_role("alert")).to_contain_text("Booking confirmed.")
    main = page.locator("main")
    expect(main.locator(".pp-tag").first).to_have_text("Confirmed")
    for shown in (requested.first_name, f"Year {requested.year_group}", requested.school, "Quiet space"):
        expect(main).to_contain_text(shown)
    text = page.locator("body").inner_text()
    html = page.content()
    hidden = [requested.last_name, requested.last_name.split("-")[0], requested.upn,
              *printed_dates(requested.date_of_birth), "SEN support", "Education, health and care plan", "EHCP"]
    for secret in hidden:
        assert secret.lower() not in text.lower(), f"the employer's booking page shows {secret!r}"
        assert secret.lower() not in html.lower(), f"the employer's booking page's HTML contains {secret!r}"
    assert_page_passes(tab)


def _student_placements(server: PortalServer) -> tuple[str, str]:
    """The demo student booked on an upcoming hospital day (through the bookings service), and a placement
    of theirs that has ended and has no reflection yet (made here, so the journey runs in any order)."""
    from portal.bookings.models import Booking
    from portal.offers.models import OfferSession

    with server.app.app_context():
        user = db.session.scalars(select(User).where(User.email == server.logins[Role.STUDENT.value])).one()
        student = db.session.get(Student, user.student_id)
        assert student is not None
        leader = db.session.scalars(select(User).where(User.email == server.logins[Role.SCHOOL.value])).one()
        offer = db.session.scalars(select(Offer).where(Offer.title == HOSPITAL_DAY)).one()
        upcoming = db.session.scalars(select(Booking).where(Booking.student_id == student.id,
                                                            Booking.starts_at > utcnow())).first()
        if upcoming is None:
            earliest = london_date(utcnow()) + dt.timedelta(days=2)
            occurrence = next(s for s in sorted(offer.sessions, key=lambda s: s.starts_at)
                              if london_date(s.starts_at) >= earliest and s.booked < s.capacity)
            book_student(db.session, leader, student, occurrence)
        start = utcnow().replace(microsecond=0) - dt.timedelta(days=3, minutes=uuid.uuid4().int % 600)
        past = OfferSession(offer_id=offer.id, starts_at=start, ends_at=start + dt.timedelta(hours=5), capacity=3, booked=1)
        db.session.add(past)
        db.session.flush()
        db.session.add(Booking(student_id=student.id, session_id=past.id, school_id=student.school_id,
                               employer_id=offer.employer_id, starts_at=past.starts_at, ends_at=past.ends_at,
                               status="completed", requested_by_id=leader.id, closed_at=past.ends_at))
        db.session.commit()
        return user.email, past.when


def test_student_sees_the_placement_and_writes_a_reflection_with_both_cv_summaries(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    """Journey 4: a student signs in, sees the coming placement with its preparation, and after a completed
    one writes a reflection with a 100-word and a 250-word summary, with the keyboard."""
    email, when = _student_placements(portal_server)
    tab = open_tab(fresh=True)
    page = tab.page
    sign_in(page, email)
    assert page.url.endswith(path_of(portal_server, "home.my_record"))
    main = page.locator("main")
    expect(main).to_contain_text("Coming up")
    expect(main).to_contain_text(HOSPITAL_DAY)
    expect(main).to_contain_text("Before you go")

    done = page.locator("section").filter(has_text=when)
    expect(done).to_have_count(1)
    with page.expect_navigation():
        done.get_by_role("button", name="Write my reflection").click()
    expect(page.locator("h1")).to_contain_text("reflection", ignore_case=True)

    page.get_by_label("What did you do?").fill("I followed a nurse on a ward round and helped at the reception desk.")
    check_with_space(page, "Listening")
    check_with_space(page, "Teamwork")
    short = "I spent a day at a hospital, shadowing nurses and helping patients find their way. " * 3
    long = ("At Manchester Royal Infirmary I shadowed a ward nurse, learned how the team hands over "
            "between shifts, and helped at the reception desk. ") * 6
    page.get_by_label("Short summary for a CV").fill(short.strip())
    page.get_by_label("Longer summary for applications").fill(long.strip())
    expect(page.locator(".pp-word-count").first).to_contain_text("words remaining", timeout=3000)
    tab_to(page, 'the "Send to my school" button', control("Send to my school"))
    press_enter_and_wait(page)

    assert tab.monitor.last_document_status() == 200
    expect(page.get_by_role("alert")).to_be_visible()
    page.goto(path_of(portal_server, "home.my_record"))
    section = page.locator("section").filter(has_text=when)
    expect(section).to_contain_text("My reflection")
    expect(section).to_contain_text("shadowing nurses")
    assert_page_passes(tab)


# --- journey 7: an adjustment request from a near miss -----------------------------------------


def a_student_the_hospital_day_nearly_fits(server: PortalServer) -> tuple[int, str, str]:
    """A new Northgate Year 10 student needing everything the hospital day has and one thing it lacks:
    (student id, first name, the lacking need's label)."""
    from portal.core.vocab import AccessFeature

    suffix = uuid.uuid4().hex[:6].upper()
    with server.app.app_context():
        leader = db.session.scalars(select(User).where(User.email == server.logins[Role.SCHOOL.value])).one()
        offer = db.session.scalars(select(Offer).where(Offer.title == HOSPITAL_DAY)).one()
        lacking = next(f for f in AccessFeature if f.value not in offer.feature_codes)
        details = StudentDetails(
            student_ref=f"J7{suffix}", first_name="Isla", last_name=f"Quinton-{suffix.title()}", year_group=10,
            date_of_birth=year_10_birthday(6, 2), send_status="ehcp", disadvantaged=False,
            needs=[*HOSPITAL_DAY_NEEDS, lacking.value], interests=["healthcare"],
        )
        student = Student(school_id=leader.school_id)
        student.school = leader.school
        apply_details(student, details)
        db.session.add(student)
        db.session.commit()
        return student.id, details.first_name, lacking.label


def test_senco_asks_the_employer_of_a_near_miss_the_employer_says_yes_and_the_senco_books(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    """Journey 7: the hospital day lacks one of Isla's needs, so it is listed under Nearly fits; staff ask the
    hospital from there, the hospital answers yes with the keyboard, and Isla can then be booked on that session."""
    student_id, first, lacking = a_student_the_hospital_day_nearly_fits(portal_server)
    school = open_tab(Role.SCHOOL.value)
    page = school.page
    page.goto(f"/match?student_id={student_id}")
    near = page.locator("article.pp-card").filter(has=page.get_by_role("heading", name=HOSPITAL_DAY, exact=True))
    expect(near.first).to_contain_text(f"Nearly fits: missing {lacking[0].lower()}{lacking[1:]}")
    expect(near.get_by_role("button", name=f"Book {first}")).to_have_count(0)
    near.first.get_by_role("link", name=re.compile(r"^Ask .* whether they could provide")).focus()
    press_enter_and_wait(page)
    expect(page.locator("h1")).to_contain_text("for an adjustment")
    expect(page.get_by_label(lacking, exact=True)).to_be_checked()
    assert_page_passes(school)
    tab_to(page, 'the "Send the request" button', control("Send the request"))
    press_enter_and_wait(page)
    expect(page.get_by_role("alert")).to_contain_text("You will hear by email")
    expect(page.locator("main")).to_contain_text("Waiting for an answer")

    employer = open_tab(Role.EMPLOYER.value)
    answer = employer.page
    answer.goto("/employer")
    expect(answer.locator("#adjustment-requests")).to_be_visible()
    answer.goto("/employer/adjustments")
    with answer.expect_navigation():
        answer.get_by_role("link", name=re.compile(r"^Northgate Academy · Year 10")).first.click()
    expect(answer.locator("main")).to_contain_text(first)
    expect(answer.locator("main")).not_to_contain_text("Quinton")
    expect(answer.locator("main")).not_to_contain_text("EHCP")
    answer.get_by_label("Yes, we can provide it").check()
    answer.get_by_label("Note for the school").fill("We will set this up on the day.")
    assert_page_passes(employer)
    with answer.expect_navigation():
        answer.get_by_role("button", name="Send answer").click()
    expect(answer.get_by_role("alert")).to_contain_text("Answer sent to the school")

    page.goto(f"/match?student_id={student_id}")
    card = page.locator("article.pp-card").filter(has=page.get_by_role("heading", name=HOSPITAL_DAY, exact=True)).first
    expect(card).to_contain_text("the employer agreed to provide")
    card.get_by_role("button", name=f"Book {first}", exact=True).focus()
    press_enter_and_wait(page)
    expect(page.locator("h1")).to_have_text("1 booking request sent")
    expect(page.locator("main")).to_contain_text(HOSPITAL_DAY)
    assert_page_passes(school)


# --- journey 8: the school says a feature was not there -----------------------------------------


def test_school_says_a_needed_feature_was_not_there_and_the_employer_and_hub_see_it(
    open_tab: Callable[..., Tab], portal_server: PortalServer,
) -> None:
    """Journey 8: after Nia's placement, staff answer with the keyboard that the feature she needed was not
    there; the employer's offer page lists it with the school's note (not Nia's name) and the hub sees the flag."""
    from portal.bookings.models import Booking

    note = f"The room was locked ({uuid.uuid4().hex[:6]})"
    with portal_server.app.app_context():
        booking = db.session.scalars(select(Booking).join(Student, Student.id == Booking.student_id)
                                     .where(Student.student_ref == "BROWSER-NEEDS")).one()
        booking_id, offer_id = booking.id, booking.session.offer_id
        feature = booking.student.need_codes[0]
    from portal.core.vocab import AccessFeature

    label = AccessFeature(feature).label
    school = open_tab(Role.SCHOOL.value)
    page = school.page
    page.goto(f"/bookings/{booking_id}")
    page.get_by_role("link", name="Say whether the features Nia needed were there").focus()
    press_enter_and_wait(page)
    expect(page.locator("h1")).to_have_text("Were the features Nia needed there?")
    tab_to(page, f'the answers for {label}', field(f"feature_{feature}-0"))
    page.keyboard.press("ArrowDown")  # from "Yes" to "No, it was not there", as radios move
    expect(page.get_by_label("No, it was not there")).to_be_checked()
    page.get_by_label("Anything the employer should know? (optional)").fill(note)
    assert_page_passes(school)
    tab_to(page, 'the "Save answers" button', control("Save answers"))
    press_enter_and_wait(page)
    expect(page.get_by_role("alert")).to_contain_text("The employer and your hub have been told")

    employer = open_tab(Role.EMPLOYER.value)
    offer_page = employer.page
    offer_page.goto(f"/employer/offers/{offer_id}")
    section = offer_page.locator("main")
    expect(section).to_contain_text("Features schools said were not there")
    expect(section.get_by_role("row").filter(has_text=note)).to_contain_text(label)
    expect(section).not_to_contain_text("Okoro")
    assert_page_passes(employer)

    from portal.bookings.confirmations import tallies_by_employer

    with portal_server.app.app_context():
        employer_row = db.session.get(Offer, offer_id).employer
        name, tally = employer_row.name, tallies_by_employer(db.session, [employer_row.id])[employer_row.id]
    hub = open_tab(Role.HUB.value)
    hub.page.goto("/hub/employers")
    row = hub.page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text(f"{tally.confirmed} of {tally.answered}")
    expect(row).to_contain_text(f"{tally.not_there} not there")
    assert_page_passes(hub)
