"""What every page must pass in the browser: axe-core at WCAG 2.x A/AA, one h1, a real title, labelled
controls, no sideways scrolling at 320px, and no console errors or failed requests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.base import AxeResults
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Error, Page, Request, Response, expect

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
SITE_NAME = "Placement Portal"
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}
FORM_CONTROLS = "input:not([type=hidden]), select, textarea"


class PageAxe(Axe):
    """axe_playwright_python's Axe, injecting axe-core once per document and bringing back only the
    violations (the full results of every rule are large, and copying them back is most of the cost)."""

    def run(self, page: Page, context: Any = None, options: dict[str, Any] | None = None) -> AxeResults:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe_script)
        violations = page.evaluate(
            "([context, options]) => axe.run(context || document, options).then(r => r.violations)",
            [context, options or {}],
        )
        return AxeResults({"violations": violations})


_axe = PageAxe()


@dataclass
class PageMonitor:
    """Listens to a page for console errors, uncaught exceptions, failed requests and error responses.

    Main-frame documents are recorded separately (the test asserts their status: 200 for a page,
    400 for a form shown again with errors); every subresource must load with a status below 400.
    """

    page: Page
    problems: list[str] = field(default_factory=list)
    documents: list[tuple[str, int]] = field(default_factory=list)
    navigations: int = 0  # main-frame navigations started while listening
    _issued: dict[Request, int] = field(default_factory=dict)  # request -> navigations before it

    def __post_init__(self) -> None:
        self._listeners: list[tuple[str, Any]] = [
            ("console", self._on_console), ("pageerror", self._on_page_error), ("request", self._on_request),
            ("requestfailed", self._on_request_failed), ("response", self._on_response),
        ]
        for event, listener in self._listeners:
            self.page.on(event, listener)

    def stop(self) -> None:
        """Stop listening (the page may be reused by the next test)."""
        for event, listener in self._listeners:
            self.page.remove_listener(event, listener)

    def _is_document(self, request: Request) -> bool:
        return request.is_navigation_request() and request.frame == self.page.main_frame

    def _on_response(self, response: Response) -> None:
        if self._is_document(response.request):
            self.documents.append((response.url, response.status))
        elif response.status >= 400:
            self.problems.append(f"{response.request.method} {response.url} answered {response.status}")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        # Chromium also logs a document's 4xx status as a console error; the test checks that status.
        if message.text.startswith("Failed to load resource") and url in {doc for doc, _ in self.documents}:
            return
        self.problems.append(f"console error: {message.text} ({url}:{message.location.get('lineNumber', '?')})")

    def _on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught exception: {error}")

    def _on_request(self, request: Request) -> None:
        if self._is_document(request):
            self.navigations += 1
        else:
            self._issued[request] = self.navigations

    def _on_request_failed(self, request: Request) -> None:
        # Leaving a page (submitting its form, say) cancels what it was still loading, such as the
        # favicon: that is the browser moving on, not a request that failed.
        # The favicon is fetched on the browser's own schedule and can be cancelled a moment before
        # the navigation that cancels it is reported, so its abort never counts.
        left_behind = self._issued.get(request, -1) < self.navigations or request.url.endswith("/favicon.svg")
        if "ERR_ABORTED" in (request.failure or "") and not self._is_document(request) and left_behind:
            return
        self.problems.append(f"{request.method} {request.url} failed: {request.failure}")

    def last_document_status(self) -> int | None:
        return self.documents[-1][1] if self.documents else None


def axe_violations(page: Page, label: str) -> list[str]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA violations, one line per rule with its elements."""
    results = _axe.run(page, options=AXE_OPTIONS)
    lines = []
    for violation in results.response["violations"]:
        targets = []
        for node in violation["nodes"][:5]:
            summary = " ".join((node.get("failureSummary") or "").split())
            targets.append(f"{' '.join(map(str, node['target']))} — {summary[:300]}")
        lines.append(
            f"axe {violation['id']} ({violation['impact']}) at {label}: {violation['help']} "
            f"[{len(violation['nodes'])} element(s)]\n      " + "\n      ".join(targets)
        )
    return lines


def title_problems(page: Page) -> list[str]:
    """The <title> names the page, before the site name."""
    title = " ".join(page.title().split())
    if not title:
        return ["the page has no <title>"]
    page_part = re.sub(rf"\s*[–—|-]\s*{re.escape(SITE_NAME)}$", "", title)
    page_part = re.sub(r"^Error:\s*", "", page_part).strip()
    if not page_part or page_part == SITE_NAME:
        return [f"the <title> {title!r} does not name the page (only the site name)"]
    return []


def heading_problems(page: Page) -> list[str]:
    """Exactly one h1."""
    count = page.locator("h1").count()
    return [] if count == 1 else [f"the page has {count} <h1> elements (it needs exactly one)"]


def label_problems(page: Page) -> list[str]:
    """Every input (except hidden), select and textarea has a non-empty accessible name."""
    problems = []
    controls = page.locator(FORM_CONTROLS)
    for index in range(controls.count()):
        control = controls.nth(index)
        try:
            # timeout=1: Playwright does one check without a deadline first (the page is loaded and static)
            expect(control).to_have_accessible_name(re.compile(r"\S"), timeout=1)
        except AssertionError:
            described = control.evaluate(
                "e => `<${e.tagName.toLowerCase()} id=\"${e.id}\" name=\"${e.getAttribute('name') || ''}\""
                " type=\"${e.getAttribute('type') || ''}\">`"
            )
            problems.append(f"form control {described} has no accessible label")
    return problems


_OVERFLOWING = """
() => {
  const limit = document.documentElement.clientWidth;
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const spills = style.overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1;
    if (box.width > 0 && (box.right > limit + 0.5 || (spills && box.left + el.scrollWidth > limit + 0.5))) {
      const cls = typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      found.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls} (reaches ${Math.round(Math.max(box.right, box.left + el.scrollWidth))}px)`);
    }
  }
  return found.slice(0, 8);
}
"""


def reflow_problems(page: Page) -> list[str]:
    """At 320 CSS pixels wide the page does not scroll sideways (WCAG 1.4.10 Reflow)."""
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll_width <= NARROW["width"]:
        return []
    culprits = page.evaluate(_OVERFLOWING)
    return [f"at 320px wide the page is {scroll_width}px wide (scrolls sideways); widest: {', '.join(culprits)}"]


def expand_disclosures(page: Page) -> int:
    """Open every closed <details>, so the controls and text behind them are checked too."""
    return page.evaluate(
        "() => { let n = 0; for (const d of document.querySelectorAll('details:not([open])')) { d.open = true; n++; } return n; }"
    )


def check_page(page: Page, monitor: PageMonitor) -> list[str]:
    """Run every page check; return what is wrong (empty when the page passes).

    First at 1280px as loaded (title, h1, axe); then with every <details> opened, the labels, and at
    320px the reflow and axe again (small-screen styles have smaller text and scrolling tables).
    """
    page.set_viewport_size(WIDE)
    problems = title_problems(page) + heading_problems(page)
    problems += axe_violations(page, "1280px")
    expand_disclosures(page)
    problems += label_problems(page)
    page.set_viewport_size(NARROW)
    page.evaluate("() => new Promise(requestAnimationFrame)")
    problems += reflow_problems(page)
    seen = {line.split(" at ", 1)[0] for line in problems if line.startswith("axe ")}
    problems += [line for line in axe_violations(page, "320px") if line.split(" at ", 1)[0] not in seen]
    page.set_viewport_size(WIDE)
    problems += monitor.problems
    return problems


def describe(page: Page, problems: list[str]) -> str:
    """A failure message listing every problem on the page."""
    return f"{len(problems)} problem(s) on {page.url}:\n  - " + "\n  - ".join(problems)


def focused(page: Page) -> dict[str, Any]:
    """What has keyboard focus: tag, id, name, type, text, href, data-module and label text."""
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          if (!e) return {};
          return {tag: e.tagName.toLowerCase(), id: e.id || '', name: e.getAttribute('name') || '',
                  type: e.getAttribute('type') || '', text: (e.innerText || e.value || '').trim(),
                  href: e.getAttribute('href') || '', module: e.getAttribute('data-module') || '',
                  label: e.labels && e.labels.length ? e.labels[0].innerText.trim() : ''};
        }"""
    )
