"""What readers send is held to what the database and the page can take: field limits from
the model columns, links with balanced parentheses, names and text without characters that
hide or disguise words, helpful marks counted once per address, and rate limits on marks and
reports."""

import json
import time

import pytest
from django.urls import reverse

from comments.forms import (
    AUTHOR_NAME_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    REPORT_NOTE_MAX_LENGTH,
    CommentForm,
    CommentReportForm,
)
from comments.models import BannedWord, Comment, CommentReport, HelpfulMark
from comments.moderation import URL_PATTERN, banned_words_in, count_links
from comments.services import HELPFUL_LIMITS, REPORT_LIMITS
from comments.text import clean_comment_text, clean_display_name, render_plain_text
from tests.conftest import element, elements, post_comment, text


@pytest.fixture(autouse=True)
def _rate_limit_windows_stand_still(clock):
    """Limits count in fixed windows: a test must not straddle the end of one."""


def url(name, comment):
    return reverse(f"comments:{name}", kwargs={"pk": comment.pk})


def email_of_length(length):
    """A valid address of exactly `length` characters (labels of at most 63)."""
    local = "e" * 64
    left = length - len(local) - 1 - len(".com")
    labels = []
    while left > 0:
        take = min(63, left if left != 64 else 62)
        labels.append("d" * take)
        left -= take + 1
    address = f"{local}@{'.'.join(labels)}.com"
    assert len(address) == length
    return address


# --- 1. Limits from the columns --------------------------------------------------------------


def test_form_limits_are_the_model_columns():
    form = CommentForm(guest=True)
    assert form.fields["author_name"].max_length == AUTHOR_NAME_MAX_LENGTH
    assert Comment._meta.get_field("author_name").max_length == AUTHOR_NAME_MAX_LENGTH
    assert form.fields["email"].max_length == EMAIL_MAX_LENGTH
    assert EMAIL_MAX_LENGTH == Comment._meta.get_field("email").max_length == 254
    note = CommentReportForm().fields["note"]
    assert note.max_length == REPORT_NOTE_MAX_LENGTH
    assert CommentReport._meta.get_field("note").max_length == REPORT_NOTE_MAX_LENGTH


@pytest.mark.parametrize("length", [255, 300, 320])
def test_an_email_longer_than_the_column_is_refused_with_the_text_kept(htmx, article, length):
    response = post_comment(htmx, article, email=email_of_length(length), body="Kept words.")

    assert response.status_code == 422
    html = response.content.decode()
    assert f"at most 254 characters (this one has {length})" in html
    assert text(element(html, 'textarea[name="body"]')) == "Kept words."
    assert not Comment.objects.exists()


def test_the_longest_email_the_column_holds_is_accepted(htmx, article):
    address = email_of_length(EMAIL_MAX_LENGTH)
    assert post_comment(htmx, article, email=address).status_code == 200
    assert Comment.objects.get().email == address


def test_a_name_longer_than_the_column_is_refused(htmx, article):
    response = post_comment(htmx, article, author_name="N" * 61, body="Kept words.")
    assert response.status_code == 422
    assert "Keep your name to 60 characters (it has 61)." in response.content.decode()
    assert not Comment.objects.exists()


def test_a_report_note_longer_than_the_column_is_refused_with_the_note_kept(
    htmx, article, add_comment
):
    comment = add_comment(article)
    note = "n" * (REPORT_NOTE_MAX_LENGTH + 1)
    response = htmx.post(url("report", comment), {"reason": "spam", "note": note})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Keep the note to 300 characters (it has 301)." in html
    assert element(html, 'input[name="note"]')["value"] == note
    assert not CommentReport.objects.exists()


# --- 2. Links ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text_", "links"),
    [
        ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        (
            "(see https://en.wikipedia.org/wiki/Foo_(bar)).",
            ["https://en.wikipedia.org/wiki/Foo_(bar)"],
        ),
        ("https://x.example/a_(b_(c))_d", ["https://x.example/a_(b_(c))_d"]),
        ("https://x.example/(a)?q=(1)#(f)", ["https://x.example/(a)?q=(1)#(f)"]),
        ("(https://x.example/path)", ["https://x.example/path"]),
        ("https://x.example/a)b", ["https://x.example/a"]),
        ("www.example.org/Foo_(bar), then", ["www.example.org/Foo_(bar)"]),
    ],
)
def test_links_keep_balanced_parentheses(text_, links):
    assert [match.group(0) for match in URL_PATTERN.finditer(text_)] == links
    assert count_links(text_) == len(links)


def test_a_wikipedia_link_with_parentheses_links_to_the_whole_address():
    html = render_plain_text("Read https://en.wikipedia.org/wiki/Foo_(bar) first.")
    link = element(html, "a")
    assert link["href"] == "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert text(link) == "https://en.wikipedia.org/wiki/Foo_(bar)"
    assert html.endswith("</a> first.</p>")


def test_the_url_pattern_stays_fast_on_hostile_input():
    hostile = "https://x/" + "(" * 2000 + "a" * 2000 + "(" * 1000
    started = time.perf_counter()
    count_links(hostile * 2)
    count_links("www." + "(a)" * 1600 + "!" * 200)
    assert time.perf_counter() - started < 1


# --- 2. Names and text -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("\u202enimda", "nimda"),
        ("ad\u200bmin", "admin"),
        ("\u2066Ann\u2069 \u200fLee\u200e", "Ann Lee"),
        ("\ufeffBo\u2060b", "Bob"),
        ("Red\x1b[31m Team\x07", "Red[31m Team"),
        ("Tab\tand\nnewline", "Tab and newline"),
        ("Wide\u3000\u2028space", "Wide space"),
        ("Zoë Ångström", "Zoë Ångström"),
    ],
)
def test_display_names_lose_overrides_invisible_and_control_characters(htmx, article, sent, stored):
    assert post_comment(htmx, article, author_name=sent).status_code == 200
    assert Comment.objects.get().author_name == stored


@pytest.mark.parametrize("name", ["\u200b", "\u202e\u202c", "\u3164", "\u200e\u200f", "\x1b\x07"])
@pytest.mark.parametrize("with_htmx", [True, False])
def test_a_name_that_shows_nothing_is_refused_with_the_text_kept(
    client, htmx, article, name, with_htmx
):
    response = post_comment(htmx if with_htmx else client, article, author_name=name, body="Hi!")

    assert response.status_code == 422
    html = response.content.decode()
    assert "Give a name that shows" in html
    assert text(element(html, 'textarea[name="body"]')) == "Hi!"
    assert not Comment.objects.exists()


def test_comment_text_loses_overrides_zero_width_and_control_characters(htmx, article):
    sent = (
        "Start \u202eevil\u202c and \u2067iso\u2069.\r\n"
        "Zero\u200bwidth\u2060 \ufeffhere\x1b[2J\x00\x07\n"
        "\tIndented\x7f line\u2028next"
    )
    assert post_comment(htmx, article, body=sent).status_code == 200
    assert Comment.objects.get().body == (
        "Start evil and iso.\nZerowidth here[2J\n\tIndented line\nnext"
    )


def test_comment_text_keeps_what_scripts_and_emoji_need():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside a word
    hebrew = "\u05e9\u05dc\u05d5\u05dd 123\u200f!"  # a right-to-left mark
    for kept in (family, persian, hebrew):
        assert clean_comment_text(kept) == kept
    # Between ASCII letters, or alone, a joiner only hides things.
    assert clean_comment_text("sc\u200dam \u200c x\u200d") == "scam  x"
    assert clean_display_name(family) == "\U0001f468\U0001f469\U0001f467"


def test_a_comment_that_shows_nothing_is_refused(htmx, article):
    response = post_comment(htmx, article, body="\u200b\u200b\u200b \u202e\u200e\u200e")
    assert response.status_code == 422
    assert "Write something before posting." in response.content.decode()
    assert not Comment.objects.exists()


def test_an_edit_is_cleaned_too(htmx, article, reader, add_comment):
    comment = add_comment(article, user=reader, body="First words.")
    htmx.force_login(reader)
    response = htmx.post(url("edit", comment), {"body": "New \u202ewords\u202c\x1b."})
    assert response.status_code == 200
    comment.refresh_from_db()
    assert comment.body == "New words."


def test_a_report_note_is_cleaned(htmx, article, add_comment):
    comment = add_comment(article)
    response = htmx.post(
        url("report", comment), {"reason": "spam", "note": "Look\u202e here\x1b\u200b."}
    )
    assert response.status_code == 200
    assert CommentReport.objects.get().note == "Look here."


def test_an_accounts_name_is_cleaned_on_its_comments(htmx, article, make_user):
    user = make_user("plain-name", first_name="\u202enimda", last_name="\u200b")
    htmx.force_login(user)
    assert post_comment(htmx, article).status_code == 200
    assert Comment.objects.get().author_name == "nimda"

    invisible = make_user("visible-username", first_name="\u200b\u3164")
    htmx.force_login(invisible)
    assert post_comment(htmx, article, body="Another one.").status_code == 200
    assert Comment.objects.get(user=invisible).author_name == "visible-username"


def test_text_saved_before_cleaning_is_shown_clean(article, add_comment, client):
    comment = add_comment(article, "Hidden \u202eevil\u202c\x1b[2J text")
    html = client.get(article.get_absolute_url()).content.decode()
    shown = text(element(html, f"#c-{comment.pk} .comment__body"))
    assert shown == "Hidden evil[2J text"


def test_invisible_characters_do_not_get_words_past_the_banned_list(db):
    BannedWord.objects.create(word="scam")
    assert banned_words_in("a sc\u00adam here") == ["scam"]
    assert banned_words_in("a s\u200ec\u200dam here") == ["scam"]


# --- 3. Helpful marks count once per address -------------------------------------------------


def mark(browser, comment):
    return browser.htmx.post(url("helpful", comment))


def test_cookieless_clients_from_one_address_count_once(article, make_client, add_comment):
    inflated = add_comment(article, "Pushed up by one address.", minutes_ago=1)
    honest = add_comment(article, "Liked by two addresses.", minutes_ago=2)
    for _ in range(25):
        assert mark(make_client(address="203.0.113.9"), inflated).status_code == 200
    for address in ("198.51.100.1", "198.51.100.2"):
        assert mark(make_client(address=address), honest).status_code == 200

    inflated.refresh_from_db()
    honest.refresh_from_db()
    assert HelpfulMark.objects.filter(comment=inflated).count() == 25  # every mark is kept
    assert (inflated.helpful_count, honest.helpful_count) == (1, 2)

    page = make_client().get(article.get_absolute_url(), {"sort": "helpful"})
    order = [node["id"] for node in elements(page, "#comments > article, #comments .comment")]
    assert order.index(f"c-{honest.pk}") < order.index(f"c-{inflated.pk}")


def test_removing_marks_keeps_the_count_exact(article, make_client, add_comment):
    comment = add_comment(article)
    first = make_client(token="first", address="203.0.113.1")
    second = make_client(token="second", address="203.0.113.1")
    elsewhere = make_client(token="elsewhere", address="203.0.113.2")

    def count():
        comment.refresh_from_db()
        return comment.helpful_count

    mark(first, comment)
    mark(second, comment)
    mark(elsewhere, comment)
    assert count() == 2
    mark(first, comment)  # taken back: the second mark from that address still counts it
    assert count() == 2
    mark(elsewhere, comment)
    assert count() == 1
    mark(second, comment)
    assert count() == 0
    assert not HelpfulMark.objects.exists()

    # A reader who marked from one address and takes it back from another: the mark's own
    # address is the one that stops counting.
    mark(first, comment)
    moved = make_client(token="first", address="192.0.2.77")
    mark(second, comment)
    assert count() == 1
    mark(moved, comment)
    assert count() == 1  # "second" still marks it from 203.0.113.1
    mark(second, comment)
    assert count() == 0


def test_the_marks_address_is_recorded(article, make_client, add_comment):
    comment = add_comment(article)
    mark(make_client(token="t", address="203.0.113.5"), comment)
    assert HelpfulMark.objects.get().ip_hash  # a salted hash, never the address
    assert "203.0.113.5" not in HelpfulMark.objects.get().ip_hash


# --- 3. Rate limits on marks and reports -----------------------------------------------------


def limit(limits, name):
    return next(default for setting, default, _ in limits if setting == name)


def test_helpful_toggles_are_rate_limited_per_reader(article, make_client, add_comment):
    per_minute = limit(HELPFUL_LIMITS, "EVR_HELPFUL_MARKS_PER_MINUTE")
    assert per_minute == 60
    comment = add_comment(article)
    browser = make_client(token="toggler", address="203.0.113.20")
    for _ in range(per_minute):
        assert mark(browser, comment).status_code == 200

    refused = mark(browser, comment)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "marking comments faster than the limit allows" in refused.content.decode()
    comment.refresh_from_db()
    assert comment.helpful_count == HelpfulMark.objects.count() == 0  # an even number of toggles


def test_helpful_toggles_are_rate_limited_per_address(settings, article, make_client, add_comment):
    settings.EVR_HELPFUL_MARKS_PER_MINUTE = 3
    comment = add_comment(article)
    for _ in range(3):
        assert mark(make_client(address="203.0.113.30"), comment).status_code == 200
    refused = mark(make_client(address="203.0.113.30"), comment)
    assert refused.status_code == 429
    assert mark(make_client(address="203.0.113.31"), comment).status_code == 200
    assert HelpfulMark.objects.count() == 4


def report(browser, comment, note="Spam, again.", *, htmx=True):
    sender = browser.htmx if htmx else browser
    return sender.post(url("report", comment), {"reason": "spam", "note": note})


def test_reports_from_one_address_are_rate_limited(settings, article, make_client, add_comment):
    settings.EVR_REPORTS_TO_HIDE = 1000
    per_minute = limit(REPORT_LIMITS, "EVR_REPORTS_PER_MINUTE")
    comments = [add_comment(article, f"Comment {n}.") for n in range(per_minute + 1)]
    for comment in comments[:per_minute]:
        assert report(make_client(address="203.0.113.40"), comment).status_code == 200

    refused = report(make_client(address="203.0.113.40"), comments[-1], "n" * 300)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "a lot of reports in a short time" in refused.content.decode()
    assert CommentReport.objects.count() == per_minute
    # Another address is not held back.
    assert report(make_client(address="203.0.113.41"), comments[-1]).status_code == 200


def test_reports_from_one_reader_are_rate_limited(settings, article, make_client, add_comment):
    settings.EVR_REPORTS_PER_MINUTE = 2
    comments = [add_comment(article, f"Comment {n}.") for n in range(3)]
    for number, comment in enumerate(comments[:2]):
        browser = make_client(token="reporter", address=f"203.0.113.{50 + number}")
        assert report(browser, comment).status_code == 200
    browser = make_client(token="reporter", address="203.0.113.59")
    assert report(browser, comments[2]).status_code == 429
    assert CommentReport.objects.count() == 2


def test_a_flood_of_reports_is_stopped_early(article, make_client, add_comment):
    comment = add_comment(article)
    statuses = [
        report(make_client(address="203.0.113.60"), comment, "x" * 300).status_code
        for _ in range(30)
    ]
    assert statuses.count(200) == limit(REPORT_LIMITS, "EVR_REPORTS_PER_MINUTE")
    assert set(statuses[statuses.index(429) :]) == {429}
    assert CommentReport.objects.count() == statuses.count(200)


@pytest.mark.parametrize("with_htmx", [True, False])
def test_a_rate_limited_report_keeps_the_note(
    settings, article, make_client, add_comment, with_htmx
):
    settings.EVR_REPORTS_PER_MINUTE = 1
    first, second = add_comment(article, "One."), add_comment(article, "Two.")
    browser = make_client(token="reporter", address="203.0.113.70")
    assert report(browser, first).status_code == 200

    refused = report(browser, second, "Please look at this one.", htmx=with_htmx)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    html = refused.content.decode()
    assert "a lot of reports in a short time" in html
    assert element(html, 'input[name="note"]')["value"] == "Please look at this one."


def test_a_rate_limited_mark_is_a_notice_under_the_comment(article, make_client, add_comment):
    comment = add_comment(article)
    browser = make_client(token="eager", address="203.0.113.80")
    browser.htmx.get(article.get_absolute_url())
    for _ in range(limit(HELPFUL_LIMITS, "EVR_HELPFUL_MARKS_PER_MINUTE")):
        mark(browser, comment)
    refused = mark(browser, comment)
    assert refused.status_code == 429
    assert refused["HX-Retarget"] == f"#c-{comment.pk}-slot"
    message = json.loads(refused["HX-Trigger-After-Settle"])["evr:announce"]["message"]
    assert "Wait" in message
