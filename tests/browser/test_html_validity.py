import pytest

from .checks import vnu_errors, vnu_missing_reason
from .conftest import browser_required

pytestmark = pytest.mark.browser


def test_every_page_and_fragment_seen_is_valid_html(page, seeded_article, html_capture):
    """Runs last: checks every page and HTMX fragment the browser tests before it received."""
    reason = vnu_missing_reason()
    if reason:
        if browser_required():
            pytest.fail(f"HTML check cannot run: {reason}")
        pytest.skip(f"HTML check skipped: {reason}")

    page.goto(seeded_article.get_absolute_url())

    errors = vnu_errors(html_capture)
    assert not errors, f"Nu Html Checker found {len(errors)} errors:\n" + "\n".join(errors)
