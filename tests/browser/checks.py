"""Accessibility (axe-core) and HTML validity (Nu Html Checker) checks for the browser tests.

Both tools are pinned in package-lock.json (npm ci --ignore-scripts). Without them their
checks are skipped, except when EVR_REQUIRE_BROWSER is set (CI), where they fail.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = PROJECT_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
HTMX_ATTRIBUTE_ERRORS = r".*Attribute .hx-[a-z:-]+. not allowed.*"
NOT_CHECKED_PATHS = ("/admin/", "/static/")
CSRF_VALUE = re.compile(r'(csrfmiddlewaretoken" value=|x-csrftoken": )"[^"]*"')

AXE_RUN = """tags => axe.run(document, {
  runOnly: {type: "tag", values: tags},
  resultTypes: ["violations"],
})"""


def browser_required():
    """CI sets EVR_REQUIRE_BROWSER: there a missing browser or checker fails the run."""
    return os.environ.get("EVR_REQUIRE_BROWSER", "") not in ("", "0")


def axe_missing_reason():
    """Why axe-core cannot run here, or None when it can."""
    if not AXE_JS.exists():
        return f"{AXE_JS.relative_to(PROJECT_ROOT)} is missing (run: npm ci --ignore-scripts)"
    return None


def inject_axe(page):
    """Load the pinned axe-core (package-lock.json) into the page, once per document.

    Not with `page.add_script_tag(path=...)`: that adds an inline script, which the site's
    Content-Security-Policy (script-src 'self') blocks, and bypassing the policy in the tests
    would hide scripts the policy breaks. Evaluating the file is not subject to the policy.
    """
    reason = axe_missing_reason()
    if reason:
        if browser_required():
            pytest.fail(f"accessibility check cannot run: {reason}")
        pytest.skip(f"accessibility check skipped: {reason}")
    if page.evaluate("() => typeof window.axe === 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))


# htmx's own classes while a request runs and for a moment after its swap, when the new
# element still wears the old one's classes (the site dims a form that is sending).
HTMX_BUSY = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"


def assert_accessible(page, state):
    """Fail with a readable list when axe finds any WCAG 2.x A/AA violation on the page, as it
    stands once htmx has finished swapping and settling."""
    page.wait_for_function(f"() => !document.querySelector({json.dumps(HTMX_BUSY)})")
    inject_axe(page)
    violations = page.evaluate(AXE_RUN, WCAG_TAGS)["violations"]
    assert not violations, f"axe found violations ({state}):\n" + format_violations(violations)


def format_violations(violations):
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl'].split('?')[0]}>"
        )
        for node in violation["nodes"][:5]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    at {' '.join(map(str, node['target']))}: {summary[:300]}")
            lines.append(f"       {node['html'][:200]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more elements")
    return "\n".join(lines)


VOID_ELEMENTS = {
    "area",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
PARENT_FOR = {"li": "ul", "tr": "table", "tbody": "table", "thead": "table", "option": "select"}


class _TopLevelElements(HTMLParser):
    """Finds where each top-level element of a fragment starts, and whether it is out-of-band."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.starts = []

    def handle_starttag(self, tag, attrs):
        if self.depth == 0:
            self.starts.append((self.getpos(), tag, "hx-swap-oob" in dict(attrs)))
        if tag not in VOID_ELEMENTS:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        if self.depth == 0:
            self.starts.append((self.getpos(), tag, "hx-swap-oob" in dict(attrs)))

    def handle_endtag(self, tag):
        if tag not in VOID_ELEMENTS:
            self.depth -= 1


def wrap_fragment(html):
    """A minimal document around an HTMX fragment, as the page would hold it after the swap.

    Out-of-band elements stand on their own (htmx moves them elsewhere); the rest gets the
    parent its first element needs, e.g. a list around list items appended to a list.
    """
    parser = _TopLevelElements()
    parser.feed(html)
    line_offsets = [0]
    for line in html.splitlines(keepends=True):
        line_offsets.append(line_offsets[-1] + len(line))
    pieces = []
    for index, ((line, column), tag, out_of_band) in enumerate(parser.starts):
        start = line_offsets[line - 1] + column
        end = len(html)
        if index + 1 < len(parser.starts):
            (next_line, next_column), _, _ = parser.starts[index + 1]
            end = line_offsets[next_line - 1] + next_column
        pieces.append((tag, out_of_band, html[start:end]))
    swapped = "".join(piece for _, out_of_band, piece in pieces if not out_of_band)
    first_tag = next((tag for tag, out_of_band, _ in pieces if not out_of_band), None)
    if first_tag in PARENT_FOR:
        swapped = f"<{PARENT_FOR[first_tag]}>{swapped}</{PARENT_FOR[first_tag]}>"
    out_of_band = "".join(piece for _, out_of_band, piece in pieces if out_of_band)
    if not pieces:
        swapped = html
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>HTMX fragment</title></head><body>{swapped}{out_of_band}</body></html>"
    )


class HtmlCapture:
    """Keeps the HTML of every page and HTMX fragment the site sent, for one vnu run."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.sources = {}

    def watch(self, context, site_url):
        def on_request_finished(request):
            if not request.url.startswith(site_url):
                return
            path = urlsplit(request.url).path
            is_fragment = request.headers.get("hx-request") == "true"
            if path.startswith(NOT_CHECKED_PATHS) or not (
                is_fragment or request.resource_type == "document"
            ):
                return
            response = request.response()
            if response is None or not (
                200 <= response.status < 300 or 400 <= response.status < 500
            ):
                return
            if "text/html" not in (response.headers.get("content-type") or ""):
                return
            self.add(response.text(), f"{request.method} {path}", is_fragment)

        # Bodies are complete only once a request has finished; reading them earlier can wait
        # for ever on a document that replaces the one being read.
        context.on("requestfinished", on_request_finished)

    def add(self, html, source, is_fragment):
        document = wrap_fragment(html) if is_fragment else html
        digest = hashlib.sha1(CSRF_VALUE.sub("", document).encode()).hexdigest()[:16]
        name = f"{'fragment' if is_fragment else 'page'}-{digest}.html"
        if name not in self.sources:
            (self.folder / name).write_text(document, encoding="utf-8")
            self.sources[name] = source

    def files(self):
        return sorted(self.folder.glob("*.html"))


def vnu_missing_reason():
    """Why the Nu Html Checker cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "java is missing (apt-get install -y default-jre-headless)"
    if not VNU_JAR.exists():
        return f"{VNU_JAR.relative_to(PROJECT_ROOT)} is missing (run: npm ci --ignore-scripts)"
    return None


def vnu_errors(capture):
    """Run the checker once over every captured file; return readable error lines."""
    files = capture.files()
    completed = subprocess.run(
        [
            shutil.which("java"),
            "-jar",
            str(VNU_JAR),
            "--errors-only",
            "--stdout",
            "--format",
            "json",
            "--filterpattern",
            HTMX_ATTRIBUTE_ERRORS,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        messages = json.loads(completed.stdout)["messages"]
    except (json.JSONDecodeError, KeyError) as error:
        raise AssertionError(
            f"vnu gave no JSON report (exit {completed.returncode}): {completed.stderr[:2000]}"
        ) from error
    errors = []
    for message in messages:
        if message.get("type") not in ("error", "non-document-error"):
            continue
        name = Path(urlsplit(message.get("url", "")).path).name
        source = capture.sources.get(name, name)
        extract = " ".join(message.get("extract", "").split())
        errors.append(
            f"- {source} ({name}) line {message.get('lastLine', '?')}: {message['message']}"
            + (f"\n    {extract[:200]}" if extract else "")
        )
    return errors


def mark_document(page):
    """Tag the loaded document, so a later full reload (which drops the tag) can be noticed."""
    page.evaluate("() => { window.evrDocumentMark = 'same document'; }")


def assert_same_document(page):
    mark = page.evaluate("() => window.evrDocumentMark")
    assert mark == "same document", "the browser loaded a new page instead of swapping a fragment"


FOCUS_IS_VISIBLE = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const outlined = style.outlineStyle !== "none" && style.outlineWidth !== "0px";
  return element.matches(":focus-visible") && (outlined || style.boxShadow !== "none");
}"""


# Resolves once the page has not scrolled for a few frames in a row.
SCROLLING_STOPPED = """() => new Promise(resolve => {
  let last = window.scrollY, still = 0;
  const frame = () => {
    if (window.scrollY !== last) { last = window.scrollY; still = 0; }
    else if (++still >= 5) { resolve(); return; }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})"""


def tab_to(page, target, *, shift=False, limit=400):
    """Press Tab until `target` has the focus, as a keyboard user would; fail if it never does.

    Returns once the page has stopped scrolling the focused element into view (smoothly:
    site.css), as a person sees the element before using it: Enter on a link while that
    scroll still runs can leave the page where the scroll ends, not at the link's target
    (seen in Chromium on a busy machine).
    """
    key = "Shift+Tab" if shift else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if target.evaluate("element => element === document.activeElement"):
            assert page.evaluate(FOCUS_IS_VISIBLE), "the focused element shows no focus indicator"
            page.evaluate(SCROLLING_STOPPED)
            return
    raise AssertionError(f"{target} was not reached with {limit} presses of {key}")


def focused_element_description(page):
    return page.evaluate(
        "() => { const e = document.activeElement;"
        " return e ? e.outerHTML.slice(0, 160) : 'nothing'; }"
    )


def expect_focus_inside(page, selector, *, after, timeout=2_000):
    """Wait for the focus to land inside `selector` (it moves once htmx has settled)."""
    try:
        page.wait_for_function(
            "selector => { const e = document.activeElement;"
            " return !!e && e !== document.body && !!e.closest(selector); }",
            arg=selector,
            timeout=timeout,
        )
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"after {after} the focus is not inside {selector} but on "
            + focused_element_description(page)
        ) from None
