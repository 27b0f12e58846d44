"""The moderation desk's decisions: Enter in a note never acts, two moderators cannot
silently undo each other, each tab offers only what does something, and what the desk says
reads well."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Fact, Paragraph
from comments import desk
from comments.models import Comment, ModerationAction, ReaderControl
from tests.conftest import HTMX_HEADERS, element, elements, first_element, text

QUEUE = reverse("admin:comments_comment_queue")

PENDING = Comment.Status.PENDING
APPROVED = Comment.Status.APPROVED
REJECTED = Comment.Status.REJECTED
SPAM = Comment.Status.SPAM


@pytest.fixture
def article(make_article):
    return make_article(headline="Small EVs", slug="small-evs")


def held(add_comment, article, body="Held.", **fields):
    fields.setdefault("author_name", "Guest Greta")
    fields.setdefault("reader_token", "g" * 32)
    return add_comment(article, body, status=fields.pop("status", PENDING), **fields)


def entry_ids(response):
    return [int(entry["id"].removeprefix("entry-")) for entry in elements(response, ".desk-entry")]


def post(client, data, *, htmx=False):
    return client.post(QUEUE, data, headers=HTMX_HEADERS if htmx else {})


# --- 1. Enter in the note ------------------------------------------------------------------------


def test_the_default_button_of_each_entry_form_is_disabled_so_enter_in_the_note_does_nothing(
    moderator_client, article, add_comment
):
    comment = held(add_comment, article)
    form = element(moderator_client.get(QUEUE), f"#entry-{comment.pk} form.desk-actions")
    # Implicit submission (Enter in a text field) presses the form's first submit button.
    default = elements(form, "button:not([type]), button[type=submit], input[type=submit]")[0]
    assert default.has_attr("disabled")
    assert default.has_attr("hidden")
    assert not default.get("name")


# --- 2. Two moderators on the same comment -----------------------------------------------------


def test_the_forms_say_which_status_the_moderator_saw(moderator_client, article, add_comment):
    comment = held(add_comment, article)
    page = moderator_client.get(QUEUE)
    name = f"seen-{comment.pk}"
    assert element(page, f"#entry-{comment.pk} form.desk-actions input[name={name}]")["value"] == (
        PENDING
    )
    assert element(page, f"input[name={name}][form=desk-bulk]")["value"] == PENDING


@pytest.mark.parametrize("htmx", [True, False])
def test_an_action_on_a_comment_another_moderator_changed_meanwhile_is_refused(
    moderator_client, article, add_comment, htmx
):
    comment = held(add_comment, article, status=REJECTED)  # rejected since the page loaded
    response = post(
        moderator_client,
        {
            "comment": comment.pk,
            "action": "approve",
            "tab": "held",
            f"seen-{comment.pk}": PENDING,
            "reason": "Looks fine",
        },
        htmx=htmx,
    )

    assert response.status_code == 409
    said = "Another moderator already rejected this comment; it now says Rejected."
    if htmx:
        swapped = first_element(response.content.decode())
        assert swapped["id"] == f"entry-{comment.pk}"
        assert said in text(element(swapped, ".desk-notice--error"))
        assert text(element(swapped, ".desk-status")) == "Rejected"
        # Acting again is a choice made on what it now says.
        seen = element(swapped, f"form.desk-actions input[name=seen-{comment.pk}]")
        assert seen["value"] == REJECTED
        assert said in response["HX-Trigger-After-Settle"]
    else:
        assert said in text(element(response, ".messagelist"))
    comment.refresh_from_db()
    assert comment.status == REJECTED
    assert not ModerationAction.objects.exists()


def test_a_bulk_action_does_the_unchanged_comments_and_reports_the_others(
    moderator_client, article, add_comment
):
    still_held = held(add_comment, article, "Still held.")
    now_spam = held(add_comment, article, "Marked as spam meanwhile.", status=SPAM)
    data = {
        "bulk": "1",
        "comment": [still_held.pk, now_spam.pk],
        "action": "approve",
        "tab": "held",
        f"seen-{still_held.pk}": PENDING,
        f"seen-{now_spam.pk}": PENDING,
    }
    response = post(moderator_client, data)
    page = text(element(moderator_client.get(response["Location"]), ".messagelist"))
    assert "Approved 1 comment." in page
    assert "1 ticked comment was left alone: another moderator changed it meanwhile" in page
    assert "(it now says Spam)" in page
    assert Comment.objects.get(pk=still_held.pk).status == APPROVED
    assert Comment.objects.get(pk=now_spam.pk).status == SPAM
    assert list(ModerationAction.objects.values_list("comment_id", flat=True)) == [still_held.pk]


# --- 3. Only actions that do something --------------------------------------------------------


def test_the_recent_tab_offers_no_approve_and_the_reported_tab_offers_keep(
    moderator_client, article, add_comment
):
    published = add_comment(article, "Published.")
    reported = add_comment(article, "Reported.", report_count=2)

    recent = moderator_client.get(QUEUE, {"tab": "recent"})
    assert not elements(recent, f"#entry-{published.pk} button[value=approve]")
    assert not elements(recent, "#desk-bulk-action option[value=approve]")
    assert "approves it" not in text(element(recent, "#desk-keys"))

    page = moderator_client.get(QUEUE, {"tab": "reported"})
    keep = element(page, f"#entry-{reported.pk} button[value=approve]")
    assert text(keep).startswith("Keep (clear reports)")
    assert text(element(page, "#desk-bulk-action option[value=approve]")) == (
        "Keep (clear reports)"
    )
    assert "keeps it and clears its reports" in text(element(page, "#desk-keys"))


def test_keeping_a_reported_comment_says_so(moderator_client, article, add_comment):
    reported = add_comment(article, "Reported.", author_name="Rita", report_count=2)
    response = post(
        moderator_client,
        {"comment": reported.pk, "action": "approve", "tab": "reported"},
        htmx=True,
    )
    said = "Kept the comment by Rita and cleared its reports."
    assert text(element(response, ".desk-notice")) == said
    assert said in response["HX-Trigger-After-Settle"]
    reported.refresh_from_db()
    assert reported.report_count == 0


@pytest.mark.parametrize(
    ("status", "fields", "action"),
    [(APPROVED, {}, "approve"), (REJECTED, {}, "reject"), (SPAM, {"confirmed": True}, "spam")],
)
def test_an_action_that_would_change_nothing_is_neither_done_nor_recorded(
    moderator_client, article, add_comment, status, fields, action
):
    confirmed = fields.pop("confirmed", False)
    comment = held(add_comment, article, status=status, **fields)
    if confirmed:
        ModerationAction.objects.create(comment=comment, kind="spam", to_status=SPAM)
    before = ModerationAction.objects.count()
    response = post(
        moderator_client,
        {"comment": comment.pk, "action": action, "tab": "recent", f"seen-{comment.pk}": status},
    )
    assert response.status_code == 409
    assert "Nothing to do" in text(element(response, ".messagelist"))
    assert ModerationAction.objects.count() == before


# --- 4. The link to more comments -----------------------------------------------------------------


def test_show_the_next_appears_only_when_there_is_a_next_page(
    moderator_client, article, add_comment
):
    held(add_comment, article)
    assert not elements(moderator_client.get(QUEUE), "#desk-next")
    for number in range(desk.QUEUE_PAGE_SIZE):
        held(add_comment, article, f"More {number}.")
    assert text(element(moderator_client.get(QUEUE), "#desk-next")) == (
        "Show the next held comments"
    )


# --- 5. What an entry answers ------------------------------------------------------------------


def add_fact(article, statement):
    return Fact.objects.create(
        article=article,
        topic=Fact.Topic.MARKET,
        statement=statement,
        certainty=Fact.Certainty.STATED,
        paragraph=article.paragraphs.get(kind=Paragraph.Kind.BODY, position=1),
        quote="First paragraph.",
    )


def test_entries_name_what_they_answer_in_words(
    moderator_client, article, add_comment, django_assert_max_num_queries
):
    fact = add_fact(article, "The small car market in Europe grows every year since 2020.")
    on_key_point = held(add_comment, article, anchor="k-1")
    on_paragraph = held(add_comment, article, anchor="p-2")
    on_fact = held(add_comment, article, anchor=fact.anchor)

    with django_assert_max_num_queries(11):
        page = moderator_client.get(QUEUE)

    def answering(comment):
        return text(element(page, f"#entry-{comment.pk} .desk-entry__where a"))

    assert answering(on_key_point) == "key point 1"
    assert answering(on_paragraph) == "paragraph 2"
    assert answering(on_fact) == (
        "a fact: “The small car market in Europe grows every year since 2020.”"
    )
    assert "k-1" not in text(element(page, f"#entry-{on_key_point.pk} .desk-entry__where"))


def test_naming_the_facts_costs_one_query_however_many_entries_answer_one(
    moderator_client, article, add_comment
):
    facts = [add_fact(article, f"Fact number {number}.") for number in range(6)]
    held(add_comment, article, anchor=facts[0].anchor)
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(QUEUE)
    for fact in facts[1:]:
        held(add_comment, article, anchor=fact.anchor)
    with CaptureQueriesContext(connection) as several:
        page = moderator_client.get(QUEUE)
    assert len(several) == len(one)
    assert "a fact: “Fact number 5.”" in text(element(page, ".desk-entries"))


# --- 6. Wording -----------------------------------------------------------------------------------


def test_a_bulk_ban_counts_guests_in_good_english(moderator_client, article, reader, add_comment):
    by_account = add_comment(article, "By an account.", user=reader, status=PENDING)
    guests = [held(add_comment, article, f"Guest {n}.", reader_token=f"{n}" * 32) for n in (1, 2)]
    response = post(
        moderator_client,
        {
            "bulk": "1",
            "comment": [by_account.pk, *(guest.pk for guest in guests)],
            "action": "ban",
            "tab": "held",
        },
    )
    page = text(element(moderator_client.get(response["Location"]), ".messagelist"))
    assert "2 selected comments are by guests, who have no accounts to ban" in page
    assert ReaderControl.objects.get(user=reader).is_banned


def test_a_long_note_is_refused_with_its_real_limit(moderator_client, article, add_comment):
    comment = held(add_comment, article)
    response = post(
        moderator_client, {"comment": comment.pk, "action": "reject", "reason": "x" * 301}
    )
    assert response.status_code == 422
    message = text(element(response, ".messagelist"))
    assert "at most 300 characters" in message
    assert "under" not in message


def test_the_history_reads_as_sentences_with_the_time_and_its_zone(
    moderator_client, moderator, settings, article, reader, add_comment
):
    settings.TIME_ZONE = "Asia/Kolkata"
    comment = add_comment(article, "Abuse.", user=reader, status=PENDING)
    ModerationAction.objects.create(
        comment=comment,
        actor=moderator,
        kind=ModerationAction.Kind.BAN,
        from_status=APPROVED,
        to_status=APPROVED,
        created_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
    )
    page = moderator_client.get(reverse("admin:comments_comment_change", args=[comment.pk]))
    shown = text(element(page, ".moderation-history li"))
    assert shown == "March 1, 2026, 6 p.m. IST: moderator banned the author"


# --- 7. The stock change list --------------------------------------------------------------------


def test_the_comment_change_list_has_the_desk_stylesheet(moderator_client, article, add_comment):
    add_comment(article, "A comment.")
    page = moderator_client.get(reverse("admin:comments_comment_changelist"))
    assert page.status_code == 200
    sheets = [link["href"] for link in elements(page, "link[rel=stylesheet]")]
    assert any(href.endswith("css/moderation-desk.css") for href in sheets)
    assert "A comment." in text(element(page, "#result_list"))
