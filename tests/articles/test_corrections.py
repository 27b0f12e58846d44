"""Readers suggest corrections to a paragraph or a fact; editors accept or decline them in
their own admin queue; an accepted correction shows, dated, under the article, on the fact it
corrected and in facts.json, on the very next request."""

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from articles.corrections import (
    BANNED_READER,
    EXPLANATION_MAX_LENGTH,
    GUESTS_CLOSED,
    NOTE_REQUIRED,
    TOO_FAST,
    UNKNOWN_ANCHOR,
)
from articles.models import Article, Correction, Fact, Paragraph
from comments.forms import form_stamp
from comments.models import ReaderControl
from comments.stamps import stamp_is_too_fast
from evsite.caching import CONTENT, bump
from tests.conftest import HTMX_HEADERS, element, elements, text

EXPLANATION = "The target price is below €20,000, not $22,000: the dollar figure is converted."
SOURCE = "https://example.com/ampere-press-release"


def correction_url(article, anchor=None):
    url = reverse("articles:correction_new", kwargs={"slug": article.slug})
    return f"{url}?anchor={anchor}" if anchor else url


def send_correction(client, article, *, headers=None, **fields):
    """Post the correction form as a reader would, its stamp made ten seconds ago for this
    browser; `fields` override the defaults (a correction to paragraph 3)."""
    data = {
        "anchor": "p-3",
        "explanation": EXPLANATION,
        "source_url": SOURCE,
        "rendered_at": form_stamp(
            getattr(client.cookies.get(settings.CSRF_COOKIE_NAME), "value", ""),
            now=time.time() - 10,
        ),
        **fields,
    }
    return client.post(correction_url(article), data, headers=headers)


def card_fact(article):
    """A fact the page lists as a card (one that backs no table column)."""
    return article.facts.filter(attribute="").order_by("position").first()


def errors(response):
    return [text(item) for item in elements(response, "#correction-form .errorlist li")]


def announced(response):
    return json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]


@pytest.fixture
def open_correction(seeded_article):
    paragraph = seeded_article.paragraphs.get(kind=Paragraph.Kind.BODY, position=3)
    return Correction.objects.create(
        article=seeded_article,
        anchor="p-3",
        paragraph=paragraph,
        explanation=EXPLANATION,
        source_url=SOURCE,
        reader_token="t" * 32,
        ip_hash="9" * 64,
    )


@pytest.fixture
def fact_correction(seeded_article):
    fact = card_fact(seeded_article)
    return Correction.objects.create(
        article=seeded_article,
        anchor=fact.anchor,
        fact=fact,
        explanation="This fact overstates what the article says about timing.",
    )


@pytest.fixture
def superuser_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def corrections_editor(make_user):
    """Staff given the correction permissions explicitly (view, change, delete)."""
    user = make_user("corrections-editor", is_staff=True)
    codenames = ["view_correction", "change_correction", "delete_correction"]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="articles", codename__in=codenames)
    )
    return user


def changelist(client, **query):
    return client.get(reverse("admin:articles_correction_changelist"), query)


def shown_pks(response):
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


def accept_on_change_page(client, correction, note):
    return client.post(
        reverse("admin:articles_correction_change", args=[correction.pk]),
        {"status": Correction.Status.ACCEPTED, "change_note": note},
    )


# --- The reader's form ---------------------------------------------------------------------


def test_the_form_quotes_the_paragraph_it_was_opened_from(client, seeded_article):
    response = client.get(correction_url(seeded_article, "p-3"))
    assert response.status_code == 200
    form = element(response, "form#correction-form")
    assert element(form, "[name=anchor]")["value"] == "p-3"
    assert element(form, "[name=anchor]")["type"] == "hidden"
    paragraph = seeded_article.paragraphs.get(kind=Paragraph.Kind.BODY, position=3)
    assert text(element(form, "blockquote")) == " ".join(paragraph.text.split())
    assert element(form, ".correction-form__about a")["href"].endswith("#p-3")
    assert element(form, "textarea[name=explanation]")
    assert element(form, "input[name=source_url]")["type"] == "url"
    assert element(form, "[name=csrfmiddlewaretoken]")["value"]


def test_the_form_quotes_a_fact_and_its_source(client, seeded_article):
    fact = card_fact(seeded_article)
    response = client.get(correction_url(seeded_article, fact.anchor))
    form = element(response, "form#correction-form")
    assert element(form, "[name=anchor]")["value"] == f"fact-{fact.pk}"
    assert text(element(form, "blockquote")) == " ".join(fact.statement.split())
    assert " ".join(fact.quote.split()) in text(form)


def test_without_an_anchor_the_reader_chooses_from_every_paragraph_and_fact_card(
    client, seeded_article
):
    form = element(client.get(correction_url(seeded_article)), "form#correction-form")
    options = {option["value"] for option in elements(form, "select[name=anchor] option")}
    paragraphs = {paragraph.anchor for paragraph in seeded_article.paragraphs.all()}
    page = client.get(seeded_article.get_absolute_url())
    cards = {card["id"] for card in elements(page, "li.fact")}
    assert cards and cards < {fact.anchor for fact in seeded_article.facts.all()}
    assert options == {""} | paragraphs | cards
    labels = [group["label"] for group in elements(form, "select[name=anchor] optgroup")]
    assert labels == ["Key points", "Paragraphs", "Facts"]
    assert not elements(form, ".correction-form__notice")


@pytest.mark.parametrize("anchor", ["p-99", "fact-0", "k-1<script>", "comments"])
def test_an_anchor_not_in_the_article_is_explained_and_the_list_offered(
    client, seeded_article, anchor
):
    response = client.get(correction_url(seeded_article, anchor))
    assert response.status_code == 200
    form = element(response, "form#correction-form")
    assert "not in this article" in text(element(form, ".correction-form__notice"))
    assert element(form, "select[name=anchor]")
    assert "<script>" not in response.text.split('id="main"')[1]


def test_a_fact_the_model_table_shows_is_corrected_through_its_paragraph(client, seeded_article):
    """Like "Discuss", a suggestion names a paragraph or a fact card: a table cell's fact has
    no card to link back to, and its cell links to the paragraph that states it."""
    fact = seeded_article.facts.get(
        attribute=Fact.Attribute.TARGET_PRICE, car_model__slug="renault-twingo"
    )
    response = client.get(correction_url(seeded_article, fact.anchor))
    assert "not in this article" in text(element(response, ".correction-form__notice"))
    assert not elements(response, f"option[value={fact.anchor}]")
    response = send_correction(client, seeded_article, anchor=fact.anchor)
    assert response.status_code == 422
    assert UNKNOWN_ANCHOR in errors(response)
    assert not Correction.objects.exists()


def test_a_fact_of_another_article_is_not_offered(client, seeded_article, make_article):
    other = make_article()
    fact = card_fact(seeded_article)
    response = client.get(correction_url(other, fact.anchor))
    assert elements(response, ".correction-form__notice")
    response = send_correction(client, other, anchor=fact.anchor)
    assert response.status_code == 422
    assert UNKNOWN_ANCHOR in errors(response)
    assert not Correction.objects.exists()


def test_a_draft_article_takes_no_corrections_from_readers(client, make_article):
    draft = make_article(status=Article.Status.DRAFT)
    assert client.get(correction_url(draft, "p-1")).status_code == 404
    assert send_correction(client, draft, anchor="p-1").status_code == 404


def test_a_guest_sends_a_correction_without_javascript(client, seeded_article):
    response = send_correction(client, seeded_article)
    sent = reverse("articles:correction_sent", kwargs={"slug": seeded_article.slug})
    assert response.status_code == 302
    assert response["Location"] == f"{sent}?anchor=p-3"

    correction = Correction.objects.get()
    assert correction.status == Correction.Status.OPEN
    assert correction.article == seeded_article
    assert correction.anchor == "p-3"
    assert correction.paragraph == seeded_article.paragraphs.get(kind="body", position=3)
    assert correction.fact is None
    assert correction.explanation == EXPLANATION
    assert correction.source_url == SOURCE
    assert correction.user is None
    assert len(correction.reader_token) == 32
    assert len(correction.ip_hash) == 64

    thanks = client.get(response["Location"])
    assert thanks.status_code == 200
    assert "Thank you" in text(element(thanks, "#correction-sent"))
    back = element(thanks, "#correction-sent a")
    assert back["href"] == f"{seeded_article.get_absolute_url()}#p-3"


def test_a_signed_in_reader_sends_a_correction_to_a_fact(client, seeded_article, reader):
    client.force_login(reader)
    fact = card_fact(seeded_article)
    response = send_correction(client, seeded_article, anchor=fact.anchor, source_url="")
    assert response.status_code == 302
    correction = Correction.objects.get()
    assert (correction.user, correction.reader_token) == (reader, "")
    assert (correction.fact, correction.paragraph) == (fact, None)
    assert correction.source_url == ""


def test_with_htmx_the_form_is_swapped_for_the_thanks_in_place(htmx, seeded_article):
    response = send_correction(htmx, seeded_article, headers=HTMX_HEADERS)
    assert response.status_code == 200
    assert "<html" not in response.text
    thanks = element(response, "#correction-sent")
    assert "sent to the editors" in text(thanks)
    assert element(thanks, "a")["href"] == f"{seeded_article.get_absolute_url()}#p-3"
    assert announced(response) == {
        "message": "Thank you: your suggestion was sent to the editors.",
        "focus": "#correction-sent",
    }
    assert "HX-Request" in response["Vary"]
    assert Correction.objects.count() == 1


def test_the_thanks_page_ignores_an_anchor_not_in_the_article(client, seeded_article):
    sent = reverse("articles:correction_sent", kwargs={"slug": seeded_article.slug})
    response = client.get(f"{sent}?anchor=javascript:alert(1)")
    assert element(response, "#correction-sent a")["href"] == seeded_article.get_absolute_url()


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"explanation": ""}, "Say what is wrong and why before sending."),
        ({"explanation": "   \u200b  "}, "Say what is wrong and why before sending."),
        ({"explanation": "Wrong."}, "at least 10 characters (you wrote 6)"),
        (
            {"explanation": "x" * (EXPLANATION_MAX_LENGTH + 1)},
            f"Keep it under {EXPLANATION_MAX_LENGTH} characters: you wrote 3001.",
        ),
        ({"source_url": "ftp://example.com/file"}, "starts with http:// or https://"),
        ({"source_url": "javascript:alert(1)"}, "starts with http:// or https://"),
        ({"source_url": "not a web address"}, "starts with http:// or https://"),
        ({"source_url": "https://example.com/" + "a" * 500}, "at most 500 characters"),
        ({"anchor": "p-99"}, UNKNOWN_ANCHOR),
        ({"anchor": ""}, "Choose the paragraph or fact that is wrong."),
    ],
)
def test_bad_input_is_explained_and_what_was_typed_is_kept(client, seeded_article, fields, message):
    response = send_correction(client, seeded_article, **fields)
    assert response.status_code == 422
    assert any(message in error for error in errors(response)), errors(response)
    form = element(response, "form#correction-form")
    sent = {"explanation": EXPLANATION, "source_url": SOURCE, **fields}
    assert element(form, "textarea[name=explanation]").string.strip() == (
        sent["explanation"].strip()
    )
    assert element(form, "input[name=source_url]").get("value", "") == sent["source_url"]
    assert not Correction.objects.exists()


@pytest.mark.parametrize(
    "source_url",
    ["not a web address", "ftp://example.com/file", "javascript:alert(1)", "https://", "http://.."],
)
def test_a_bad_source_is_explained_once(client, seeded_article, source_url):
    response = send_correction(client, seeded_article, source_url=source_url)
    assert response.status_code == 422
    assert errors(response) == [
        "Give a web address that starts with http:// or https://, or leave it empty."
    ]


def test_a_bare_host_is_taken_as_https(client, seeded_article):
    send_correction(client, seeded_article, source_url="example.com/news")
    assert Correction.objects.get().source_url == "https://example.com/news"


def test_with_htmx_errors_are_read_out_and_focus_goes_to_the_field(htmx, seeded_article):
    response = send_correction(htmx, seeded_article, explanation="", headers=HTMX_HEADERS)
    assert response.status_code == 422
    assert "<html" not in response.text
    form = element(response, "form#correction-form")
    assert element(form, "#correction-explanation")["aria-invalid"] == "true"
    assert element(form, "input[name=source_url]")["value"] == SOURCE
    assert announced(response) == {
        "message": "Say what is wrong and why before sending.",
        "focus": "#correction-explanation",
    }


def test_a_bad_anchor_with_htmx_puts_focus_on_the_list(htmx, seeded_article):
    response = send_correction(htmx, seeded_article, anchor="p-99", headers=HTMX_HEADERS)
    assert announced(response)["focus"] == "#correction-anchor"
    assert element(response, "select#correction-anchor")["aria-invalid"] == "true"


def test_posting_without_the_csrf_token_is_refused(make_client, seeded_article):
    strict = make_client(enforce_csrf_checks=True)
    assert send_correction(strict, seeded_article).status_code == 403
    assert not Correction.objects.exists()
    form = element(strict.get(correction_url(seeded_article, "p-3")), "#correction-form")
    token = element(form, "[name=csrfmiddlewaretoken]")["value"]
    response = send_correction(strict, seeded_article, csrfmiddlewaretoken=token)
    assert response.status_code == 302
    assert Correction.objects.count() == 1


def test_only_get_and_post_are_answered(client, seeded_article):
    url = correction_url(seeded_article)
    assert client.put(url).status_code == 405
    assert client.delete(url).status_code == 405


def test_a_form_sent_back_faster_than_a_person_types_is_refused_with_the_text_kept(
    client, seeded_article
):
    client.get(correction_url(seeded_article, "p-3"))
    cookie = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = send_correction(client, seeded_article, rendered_at=form_stamp(cookie))
    assert response.status_code == 422
    assert TOO_FAST in errors(response)
    assert EXPLANATION in response.text.replace("&#x27;", "'")
    # The form comes back with a fresh, genuine stamp: sent again later, it is taken.
    stamp = element(response, "[name=rendered_at]")["value"]
    assert not stamp_is_too_fast(stamp, now=time.time() + 10)
    assert not Correction.objects.exists()


def test_an_expired_form_is_refused_with_the_text_kept(client, seeded_article):
    old = form_stamp("", now=time.time() - 3 * 60 * 60)
    response = send_correction(client, seeded_article, rendered_at=old)
    assert response.status_code == 422
    assert any("expired" in error for error in errors(response))
    assert not Correction.objects.exists()


def test_a_filled_honeypot_is_thanked_and_nothing_is_kept(client, seeded_article):
    response = send_correction(client, seeded_article, website="https://spam.example")
    assert response.status_code == 302
    assert not Correction.objects.exists()


def test_a_banned_account_cannot_send_corrections(client, seeded_article, reader):
    ReaderControl.objects.create(user=reader, is_banned=True)
    client.force_login(reader)
    response = send_correction(client, seeded_article)
    assert response.status_code == 403
    assert BANNED_READER in errors(response)
    assert not Correction.objects.exists()


def test_without_guest_posting_only_accounts_send_corrections(
    client, seeded_article, reader, settings
):
    settings.EVR_GUEST_COMMENTS = False
    response = send_correction(client, seeded_article)
    assert response.status_code == 403
    assert GUESTS_CLOSED in errors(response)
    assert not Correction.objects.exists()
    client.force_login(reader)
    assert send_correction(client, seeded_article).status_code == 302
    assert Correction.objects.count() == 1


@override_settings(EVR_CORRECTIONS_PER_MINUTE=2, EVR_CORRECTIONS_PER_HOUR=10)
def test_corrections_are_rate_limited_per_reader_and_per_address(
    client, make_client, seeded_article, clock
):
    for number in range(2):
        response = send_correction(client, seeded_article, explanation=f"{EXPLANATION} {number}")
        assert response.status_code == 302
    refused = send_correction(client, seeded_article, explanation="Third one, kept as typed.")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    assert any("Wait 45 seconds" in error for error in errors(refused))
    assert "Third one, kept as typed." in refused.text
    # Another guest from the same address is limited too; elsewhere, someone else is not.
    assert send_correction(make_client(), seeded_article).status_code == 429
    assert send_correction(make_client(address="10.0.0.9"), seeded_article).status_code == 302
    clock.now += 60
    assert send_correction(client, seeded_article).status_code == 302
    assert Correction.objects.count() == 4


@override_settings(EVR_CORRECTIONS_PER_MINUTE=1)
def test_the_rate_limit_with_htmx_answers_in_the_form(htmx, seeded_article, clock):
    assert send_correction(htmx, seeded_article, headers=HTMX_HEADERS).status_code == 200
    refused = send_correction(htmx, seeded_article, headers=HTMX_HEADERS)
    assert refused.status_code == 429
    assert element(refused, "form#correction-form .errorlist.nonfield")
    assert announced(refused)["focus"] == "#correction-form .errorlist"


# --- The editors' queue ----------------------------------------------------------------------


def test_the_queue_shows_open_corrections_by_default(
    superuser_client, open_correction, fact_correction
):
    accepted = Correction.objects.create(
        article=open_correction.article,
        anchor="p-1",
        explanation="Accepted one.",
        status=Correction.Status.ACCEPTED,
        change_note="Fixed.",
        decided_at=timezone.now(),
    )
    declined = Correction.objects.create(
        article=open_correction.article,
        anchor="p-2",
        explanation="Declined one.",
        status=Correction.Status.DECLINED,
        decided_at=timezone.now(),
    )
    client = superuser_client
    assert set(shown_pks(changelist(client))) == {open_correction.pk, fact_correction.pk}
    assert shown_pks(changelist(client, status="accepted")) == [accepted.pk]
    assert shown_pks(changelist(client, status="declined")) == [declined.pk]
    assert len(shown_pks(changelist(client, status="all"))) == 4
    filters = {
        text(link): link["href"] for link in elements(changelist(client), "#changelist-filter a")
    }
    assert {"Open", "Accepted", "Declined", "All"} <= set(filters)
    assert changelist(client, status="nonsense").status_code != 500


def test_the_queue_shows_anchor_excerpt_source_and_date(superuser_client, open_correction):
    page = changelist(superuser_client)
    row = element(page, "#result_list tbody tr")
    article_url = open_correction.article.get_absolute_url()
    assert element(row, f"a[href='{article_url}#p-3']")
    assert "The target price is below €20,000" in text(row)
    source = element(row, f"a[href='{SOURCE}']")
    assert text(source) == "example.com"
    assert "nofollow" in source["rel"]
    assert timezone.localtime(open_correction.created_at).strftime("%Y") in text(row)


def test_the_queue_reads_in_a_fixed_number_of_queries(
    superuser_client, seeded_article, django_assert_max_num_queries
):
    for number in range(30):
        Correction.objects.create(article=seeded_article, anchor="p-1", explanation=f"N{number}")
    with django_assert_max_num_queries(12):
        assert changelist(superuser_client).status_code == 200


def test_a_source_link_cannot_carry_markup(superuser_client, open_correction):
    open_correction.source_url = 'https://example.com/"><script>alert(1)</script>'
    open_correction.save()
    page = changelist(superuser_client)
    assert "<script>alert(1)</script>" not in page.text


def test_staff_without_the_correction_permissions_cannot_open_the_queue(
    client, make_user, open_correction
):
    client.force_login(make_user("plain-staff", is_staff=True))
    assert changelist(client).status_code == 403
    change = reverse("admin:articles_correction_change", args=[open_correction.pk])
    assert client.get(change).status_code == 403
    assert accept_on_change_page(client, open_correction, "Fixed.").status_code == 403
    open_correction.refresh_from_db()
    assert open_correction.status == Correction.Status.OPEN


def test_staff_with_the_correction_permissions_work_the_queue_without_private_fields(
    client, corrections_editor, open_correction
):
    client.force_login(corrections_editor)
    assert shown_pks(changelist(client)) == [open_correction.pk]
    change = client.get(reverse("admin:articles_correction_change", args=[open_correction.pk]))
    assert change.status_code == 200
    assert open_correction.reader_token not in change.text
    assert open_correction.ip_hash not in change.text
    assert "A guest" in change.text
    assert changelist(client, reader_token__startswith="t").status_code == 400
    assert changelist(client, ip_hash=open_correction.ip_hash).status_code == 400
    assert client.get(reverse("admin:articles_correction_add")).status_code == 403


def test_a_superuser_sees_who_sent_it(superuser_client, open_correction):
    change = superuser_client.get(
        reverse("admin:articles_correction_change", args=[open_correction.pk])
    )
    assert open_correction.reader_token in change.text
    assert open_correction.ip_hash in change.text


def test_a_view_only_editor_cannot_decide(client, make_user, open_correction):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_correction"))
    client.force_login(viewer)
    assert changelist(client).status_code == 200
    response = client.post(
        reverse("admin:articles_correction_changelist"),
        {"action": "decline", "_selected_action": [open_correction.pk]},
    )
    assert response.status_code != 500
    assert accept_on_change_page(client, open_correction, "Fixed.").status_code == 403
    open_correction.refresh_from_db()
    assert open_correction.status == Correction.Status.OPEN


def test_accepting_on_the_change_page_needs_a_note(client, corrections_editor, open_correction):
    client.force_login(corrections_editor)
    response = accept_on_change_page(client, open_correction, "   ")
    assert response.status_code == 200
    assert NOTE_REQUIRED in response.text
    open_correction.refresh_from_db()
    assert open_correction.status == Correction.Status.OPEN

    response = accept_on_change_page(client, open_correction, "Paragraph 3 now gives the price.")
    assert response.status_code == 302
    open_correction.refresh_from_db()
    assert open_correction.status == Correction.Status.ACCEPTED
    assert open_correction.change_note == "Paragraph 3 now gives the price."
    assert open_correction.decided_by == corrections_editor
    assert timezone.now() - open_correction.decided_at < timedelta(minutes=1)


def test_reopening_clears_the_decision(client, corrections_editor, open_correction):
    client.force_login(corrections_editor)
    accept_on_change_page(client, open_correction, "Fixed.")
    client.post(
        reverse("admin:articles_correction_change", args=[open_correction.pk]),
        {"status": Correction.Status.OPEN, "change_note": "Fixed."},
    )
    open_correction.refresh_from_db()
    assert (open_correction.status, open_correction.decided_at) == ("open", None)
    assert open_correction.decided_by is None


def test_the_accept_action_asks_for_the_note_first(
    client, corrections_editor, open_correction, fact_correction
):
    client.force_login(corrections_editor)
    url = reverse("admin:articles_correction_changelist")
    selected = [open_correction.pk, fact_correction.pk]
    asked = client.post(url, {"action": "accept", "_selected_action": selected})
    assert asked.status_code == 200
    assert element(asked, "#accept-corrections textarea[name=change_note]")
    assert not Correction.objects.filter(status=Correction.Status.ACCEPTED).exists()

    empty = client.post(
        url, {"action": "accept", "_selected_action": selected, "apply": "yes", "change_note": ""}
    )
    assert empty.status_code == 200
    assert NOTE_REQUIRED in empty.text
    assert not Correction.objects.filter(status=Correction.Status.ACCEPTED).exists()

    done = client.post(
        url,
        {
            "action": "accept",
            "_selected_action": selected,
            "apply": "yes",
            "change_note": "The price and timing are now as the maker gave them.",
        },
    )
    assert done.status_code == 302
    accepted = Correction.objects.filter(status=Correction.Status.ACCEPTED)
    assert set(accepted.values_list("pk", flat=True)) == set(selected)
    assert set(accepted.values_list("decided_by", flat=True)) == {corrections_editor.pk}
    assert LogEntry.objects.filter(object_id=str(open_correction.pk)).exists()


def test_the_decline_action_dates_and_signs_the_decision(
    client, corrections_editor, open_correction
):
    client.force_login(corrections_editor)
    response = client.post(
        reverse("admin:articles_correction_changelist"),
        {"action": "decline", "_selected_action": [open_correction.pk]},
    )
    assert response.status_code == 302
    open_correction.refresh_from_db()
    assert open_correction.status == Correction.Status.DECLINED
    assert open_correction.decided_by == corrections_editor
    assert open_correction.decided_at is not None


# --- What readers see once a correction is accepted ------------------------------------------


def test_an_accepted_correction_shows_dated_under_the_article_on_the_next_request(
    make_client, superuser_client, open_correction, fact_correction
):
    article = open_correction.article
    reader = make_client()
    reader.get(article.get_absolute_url())
    before = reader.get(article.get_absolute_url())  # served from the shared cache
    assert not elements(before, "section[aria-labelledby=corrections-heading]")
    assert not elements(before, ".fact__corrected")
    # Every article invites corrections, even before any.
    suggest = element(before, ".corrections__suggest a")
    assert suggest["href"] == correction_url(article)

    accept_on_change_page(superuser_client, open_correction, "Paragraph 3 now gives the price.")
    accept_on_change_page(superuser_client, fact_correction, "The fact now says “expected”.")

    after = reader.get(article.get_absolute_url())
    section = element(after, "section[aria-labelledby=corrections-heading]")
    assert text(element(section, "#corrections-heading")) == "Corrections"
    notes = elements(section, "li")
    today = timezone.localdate()
    assert [element(note, "time")["datetime"] for note in notes] == [today.isoformat()] * 2
    assert today.strftime("%B %Y") in text(notes[0])
    assert "Paragraph 3 now gives the price." in text(notes[0])
    assert element(notes[0], "a")["href"] == "#p-3"
    assert text(element(notes[0], "a")) == "Paragraph 3"
    assert element(notes[1], "a")["href"] == f"#{fact_correction.anchor}"
    # The note sits at the end of the article, after its last paragraph.
    assert after.text.index('id="p-12"') < after.text.index('id="corrections-heading"')

    (mark,) = elements(after, ".fact__corrected")
    assert "Corrected" in text(mark)
    assert element(mark, "time")["datetime"] == today.isoformat()
    card = mark.find_parent("li")
    assert " ".join(fact_correction.fact.statement.split()) in text(card)


def test_declining_an_accepted_correction_takes_its_note_away(
    make_client, superuser_client, open_correction
):
    article = open_correction.article
    accept_on_change_page(superuser_client, open_correction, "Fixed the price.")
    reader = make_client()
    assert "Fixed the price." in reader.get(article.get_absolute_url()).text
    # From the queue of accepted corrections, as the editor sees it.
    accepted_queue = reverse("admin:articles_correction_changelist") + "?status=accepted"
    superuser_client.post(
        accepted_queue, {"action": "decline", "_selected_action": [open_correction.pk]}
    )
    open_correction.refresh_from_db()
    assert open_correction.status == Correction.Status.DECLINED
    after = reader.get(article.get_absolute_url())
    assert "Fixed the price." not in after.text
    assert not elements(after, "#corrections-heading")


def test_open_and_declined_corrections_are_not_shown(client, open_correction):
    Correction.objects.create(
        article=open_correction.article,
        anchor="p-1",
        explanation="No.",
        status=Correction.Status.DECLINED,
        change_note="Declined note.",
        decided_at=timezone.now(),
    )
    page = client.get(open_correction.article.get_absolute_url())
    assert not elements(page, "#corrections-heading")
    assert "Declined note." not in page.text


def test_a_note_is_escaped_and_survives_its_paragraph(client, open_correction):
    Correction.objects.filter(pk=open_correction.pk).update(
        status=Correction.Status.ACCEPTED,
        change_note="<b>Fixed</b> the price.",
        decided_at=timezone.now(),
        paragraph=None,
    )
    page = client.get(open_correction.article.get_absolute_url())
    note = element(page, "section[aria-labelledby=corrections-heading] li")
    assert "<b>Fixed</b> the price." in text(note)
    assert not note.find("b")
    assert not note.find("a")  # what it corrected is gone: no link to nowhere


def test_facts_json_carries_the_corrections(client, superuser_client, fact_correction):
    article = fact_correction.article
    url = reverse("articles:facts_json", kwargs={"slug": article.slug})
    before = client.get(url).json()
    assert before["corrections"] == []
    assert {fact["corrected"] for fact in before["facts"]} == {None}

    accept_on_change_page(superuser_client, fact_correction, "The fact now says “expected”.")
    after = client.get(url).json()
    today = timezone.localdate().isoformat()
    assert after["corrections"] == [
        {
            "date": today,
            "anchor": fact_correction.anchor,
            "change_note": "The fact now says “expected”.",
            "url": f"http://testserver{article.get_absolute_url()}#{fact_correction.anchor}",
        }
    ]
    corrected = {fact["anchor"]: fact["corrected"] for fact in after["facts"]}
    assert corrected[fact_correction.anchor] == today
    assert set(corrected.values()) == {None, today}
    assert sum(1 for day in corrected.values() if day) == 1


def test_corrections_cost_the_article_page_one_query_however_many(
    make_client, seeded_article, django_assert_max_num_queries
):
    facts = list(seeded_article.facts.all())
    decided = timezone.now()

    def accept_corrections(count):
        Correction.objects.bulk_create(
            Correction(
                article=seeded_article,
                anchor=fact.anchor,
                fact=fact,
                explanation="Wrong.",
                status=Correction.Status.ACCEPTED,
                change_note=f"Corrected fact {fact.pk}.",
                decided_at=decided,
            )
            for fact in facts[:count]
        )

    accept_corrections(1)
    with django_assert_max_num_queries(12) as one:
        make_client().get(seeded_article.get_absolute_url())
    Correction.objects.all().delete()
    accept_corrections(len(facts))
    bump(CONTENT)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = make_client().get(seeded_article.get_absolute_url())
    assert len(elements(page, "section[aria-labelledby=corrections-heading] li")) == len(facts)
    with django_assert_max_num_queries(6):
        client_json = make_client().get(
            reverse("articles:facts_json", kwargs={"slug": seeded_article.slug})
        )
    assert len(client_json.json()["corrections"]) == len(facts)


def test_a_fact_correction_survives_the_fact_being_deleted(client, fact_correction):
    Correction.objects.filter(pk=fact_correction.pk).update(
        status=Correction.Status.ACCEPTED, change_note="Removed.", decided_at=timezone.now()
    )
    Fact.objects.filter(pk=fact_correction.fact_id).delete()
    page = client.get(fact_correction.article.get_absolute_url())
    assert "Removed." in text(element(page, "section[aria-labelledby=corrections-heading]"))
    data = client.get(
        reverse("articles:facts_json", kwargs={"slug": fact_correction.article.slug})
    ).json()
    assert data["corrections"][0]["url"] is None


def test_a_fact_shown_in_the_model_table_is_marked_there_and_linked_to_its_row(
    client, superuser_client, seeded_article
):
    fact = seeded_article.facts.get(
        attribute=Fact.Attribute.TARGET_PRICE, car_model__slug="renault-twingo"
    )
    correction = Correction.objects.create(
        article=seeded_article, anchor=fact.anchor, fact=fact, explanation=EXPLANATION
    )
    accept_on_change_page(superuser_client, correction, "The price is now given in euros only.")
    page = client.get(seeded_article.get_absolute_url())
    link = element(page, "section[aria-labelledby=corrections-heading] li a")
    row = element(page, link["href"])
    assert row.name == "tr" and "Twingo" in text(row)
    (mark,) = elements(page, ".fact__corrected")
    assert mark.find_parent("tr")["id"] == row["id"]
    assert "Less than €20,000" in text(mark.find_parent("td"))
    data = client.get(reverse("articles:facts_json", kwargs={"slug": seeded_article.slug})).json()
    assert data["corrections"][0]["url"].endswith(
        f"{seeded_article.get_absolute_url()}#{row['id']}"
    )
