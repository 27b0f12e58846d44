"""Headless Chromium against the live test server, with axe and Nu Html Checker helpers.

Without Chromium these tests are skipped with one line, unless EVR_REQUIRE_BROWSER=1 (CI),
where a missing browser or checker fails the run.
"""

import importlib
import os
import shutil
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from .checks import HtmlCapture, browser_required

moderators_migration = importlib.import_module("comments.migrations.0002_moderators_group")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING_CHROMIUM = (
    "browser tests skipped: install Debian's chromium (apt-get install -y chromium) "
    "and run make test-browser"
)
LAST = "test_every_page_and_fragment_seen_is_valid_html"


def chromium_executable():
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM_MISSING = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config, items):
    """Browser tests run last, the HTML check at the very end; without Chromium, not at all.

    Playwright's sync API leaves an event loop marked as running in the main thread, which
    would make Django refuse database access in any test that ran after it; and each
    live-server test empties the database afterwards, data migrations' groups included.
    """
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if browser_items and chromium_executable() is None and not browser_required():
        config.stash[CHROMIUM_MISSING] = True
        config.hook.pytest_deselected(items=browser_items)
        items[:] = [item for item in items if not item.get_closest_marker("browser")]
        return

    def order(item):
        is_browser = item.get_closest_marker("browser") is not None
        return (is_browser, is_browser and item.originalname == LAST)

    items.sort(key=order)


def pytest_terminal_summary(terminalreporter, config):
    if config.stash.get(CHROMIUM_MISSING, False):
        terminalreporter.write_line(MISSING_CHROMIUM, yellow=True, bold=True)


@pytest.fixture(scope="session", autouse=True)
def _chromium():
    executable = chromium_executable()
    if executable is None:
        pytest.fail(
            "Chromium is missing and EVR_REQUIRE_BROWSER is set: install Debian's chromium "
            "(apt-get install -y chromium) or point CHROMIUM_PATH at a Chromium binary."
        )
    return executable


@pytest.fixture(scope="session", autouse=True)
def _allow_database_access_beside_playwright(_chromium):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, _chromium):
    return {
        **browser_type_launch_args,
        "executable_path": _chromium,
        "args": CHROMIUM_FLAGS,
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def html_capture(tmp_path_factory):
    return HtmlCapture(tmp_path_factory.mktemp("html"))


@pytest.fixture
def reader_context(new_context, html_capture, live_server):
    """Open a browser context (one reader); its pages are kept for the HTML check.

    The test fails when the site answered any request with a server error.
    """
    server_errors = []

    def record_server_error(response):
        if response.status >= 500 and response.url.startswith(live_server.url):
            server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def open_context(**options):
        context = new_context(**options)
        context.set_default_timeout(5_000)
        html_capture.watch(context, live_server.url)
        context.on("response", record_server_error)
        return context

    yield open_context
    assert not server_errors, "the site answered with a server error: " + ", ".join(server_errors)


@pytest.fixture
def context(reader_context):
    return reader_context()


@pytest.fixture
def readers_type_fast(monkeypatch):
    """The comment form's anti-bot time trap wants seconds of typing; test readers are quicker."""
    from comments import forms

    # Set where the check reads it: the module that defines `stamp_is_too_fast`.
    trap = sys.modules[forms.stamp_is_too_fast.__module__]
    monkeypatch.setattr(trap, "MIN_SECONDS_TO_FILL", 0)


@pytest.fixture
def screenshot():
    """Save a full-page screenshot named after the state, the viewport and the colour scheme."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(target, state, scheme="light", *, full_page=True):
        """`target` is a page, or a locator to picture one element of it."""
        page = getattr(target, "page", target)
        size = page.viewport_size
        path = SCREENSHOTS / f"{state}-{size['width']}x{size['height']}-{scheme}.png"
        if target is page:
            page.screenshot(path=path, full_page=full_page)
        else:
            target.screenshot(path=path)
        return path

    return take


@pytest.fixture
def moderator(make_user):
    """A staff member in the Moderators group (made again: the live server's database is
    emptied after every test, data migrations included)."""
    moderators_migration.create_moderators_group(apps, None)
    user = make_user("moderator", is_staff=True)
    user.groups.add(Group.objects.get(name=moderators_migration.MODERATORS))
    return user
