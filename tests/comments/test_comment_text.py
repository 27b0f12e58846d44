import pytest
from django.utils.html import escape

from comments.models import Comment
from comments.text import render_plain_text
from tests.conftest import element, elements, post_comment

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    'http://example.com/"onmouseover="alert(1)',
    "<a href='javascript:alert(1)'>click</a>",
    "{{ request.user }} {% now 'Y' %}",
]


def test_paragraphs_and_line_breaks_are_kept():
    html = render_plain_text("First line\nsecond line\n\n\nNew paragraph\r\n\r\nThird")
    assert html == "<p>First line<br>second line</p><p>New paragraph</p><p>Third</p>"


def test_urls_become_links_for_readers_not_for_search_engines():
    html = render_plain_text("See https://example.com/a?b=1&c=2. Or www.example.org!")
    assert html == (
        '<p>See <a href="https://example.com/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
        "https://example.com/a?b=1&amp;c=2</a>. Or "
        '<a href="https://www.example.org" rel="nofollow ugc noopener">www.example.org</a>!</p>'
    )


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markup_from_readers_is_shown_as_text(payload):
    html = render_plain_text(payload)
    assert "<script" not in html
    assert "<img" not in html
    assert "<svg" not in html
    assert 'href="javascript' not in html
    assert " onmouseover=" not in html.replace("&quot;", "")
    assert "<a href='" not in html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_inert_on_the_page(client, article, payload):
    post_comment(client, article, author_name=f"<b>{payload}</b>", body=f"Look: {payload}")
    comment = Comment.objects.get()
    html = client.get(article.get_absolute_url()).content.decode()
    # The section's HTML as sent, unparsed: what a browser would run.
    section = html.split('id="comment-section"')[1]

    assert elements(element(html, "#comment-section"), f"#c-{comment.pk}")
    assert "<script>alert" not in section
    assert "onerror=" not in section.replace("onerror=&quot;", "")
    assert "<svg" not in section
    assert "<b>" not in section
    if "http" not in payload:  # (a URL is shown as a link instead)
        assert escape(payload) in section  # the reader sees exactly what was typed
