"""Comments on the article's own claims: "Discuss" on each paragraph and fact card, the
quote an anchored comment shows, the counts under each claim and the lists they open."""

import json
import re

import pytest
from django.urls import reverse

from articles.models import Fact, Paragraph
from comments.claims import ANCHOR_UNKNOWN
from comments.models import Comment
from evsite.caching import CONTENT, bump
from tests.conftest import element, elements, post_comment, text

QUOTE_OF_P3 = "The French brand's Ampere EV unit revealed that Nissan has asked it"


def announced(response):
    return json.loads(response["HX-Trigger-After-Settle"])["evr:announce"]


def link_starting_with(node, words):
    found = [link for link in node.select("a") if text(link).startswith(words)]
    assert len(found) == 1, f"{len(found)} links start with {words!r}"
    return found[0]


def card_fact(article):
    """A fact with a card of its own (one the model table does not show)."""
    return Fact.objects.get(article=article, statement__startswith="It will be positioned below")


def table_fact(article):
    """A fact whose value the model table shows: it has no card, so no anchor."""
    return Fact.objects.get(article=article, statement="The Twingo is headed for Europe.")


def count_link(page, label):
    found = elements(page, f"#claim-comments-{label}")
    return text(found[0]) if found else None


# The links on the page


def test_each_paragraph_and_fact_card_has_discuss_and_correction_links(client, seeded_article):
    page = client.get(seeded_article.get_absolute_url())
    claims = [
        *elements(page, ".key-points li[id^='k-']"),
        *elements(page, ".article__body p[id^='p-']"),
        *elements(page, "li.fact"),
    ]
    paragraphs = Paragraph.objects.filter(article=seeded_article).count()
    cards = elements(page, "li.fact")
    assert len(claims) == paragraphs + len(cards) and cards
    fact_pks = set(Fact.objects.filter(article=seeded_article).values_list("pk", flat=True))
    for claim in claims:
        label = claim["id"]
        if label.startswith("fact-"):
            assert int(label.removeprefix("fact-")) in fact_pks
        discuss = link_starting_with(claim, "Discuss")
        assert discuss["href"] == f"{seeded_article.get_absolute_url()}?anchor={label}#comment-form"
        assert discuss["hx-get"].endswith(f"?anchor={label}")
        correction = link_starting_with(claim, "Suggest a correction")
        assert correction["href"] == (
            reverse("articles:correction_new", kwargs={"slug": seeded_article.slug})
            + f"?anchor={label}"
        )
    assert text(link_starting_with(element(page, "#p-3"), "Discuss")) == "Discuss paragraph 3"
    assert element(page, "#model-renault-twingo")  # where model names in comments lead


def test_a_fact_the_table_shows_has_no_card_of_its_own(client, seeded_article):
    page = client.get(seeded_article.get_absolute_url())
    assert not elements(page, f"#fact-{table_fact(seeded_article).pk}")
    assert elements(page, f"li.fact#fact-{card_fact(seeded_article).pk}")


def test_discuss_without_javascript_opens_the_form_responding_to_the_paragraph(
    client, seeded_article
):
    plain = client.get(seeded_article.get_absolute_url())
    assert not elements(plain, "#comment-form [name='anchor']")

    discuss = link_starting_with(element(plain, "#p-3"), "Discuss")["href"]
    page = client.get(discuss)

    anchor = element(page, "#comment-form input[name='anchor']")
    assert (anchor["type"], anchor["value"], anchor.has_attr("checked")) == (
        "checkbox",
        "p-3",
        True,
    )
    assert text(element(page, f"label[for='{anchor['id']}']")) == (
        "Responding to paragraph 3 of the article"
    )
    quote = element(page, "#comment-form blockquote")
    assert QUOTE_OF_P3 in text(quote)
    assert element(quote, "a")["href"] == f"{seeded_article.get_absolute_url()}#p-3"


def test_discuss_with_htmx_fills_the_forms_anchor_in_place_and_focuses_the_text(
    htmx, seeded_article
):
    page = htmx.client.get(seeded_article.get_absolute_url())
    url = link_starting_with(element(page, "#p-3"), "Discuss")["hx-get"]

    response = htmx.get(url)

    assert response.status_code == 200
    assert "<html" not in response.text
    swapped = element(response, "#comment-form-anchor")
    assert swapped["hx-swap-oob"] == "true"
    assert element(swapped, "input[name='anchor']")["value"] == "p-3"
    assert QUOTE_OF_P3 in text(element(swapped, "blockquote"))
    assert not elements(response, "textarea")  # what the reader typed stays as it is
    assert announced(response) == {
        "message": "Your comment will respond to paragraph 3.",
        "focus": "#comment-body",
    }
    assert elements(page, "#comment-form textarea#comment-body")


def test_discuss_for_a_part_that_is_gone_says_so(htmx, seeded_article):
    url = reverse("comments:anchor", kwargs={"slug": seeded_article.slug}) + "?anchor=p-99"
    response = htmx.get(url)
    assert response.status_code == 404
    assert "not there any more" in announced(response)["message"]


def test_discuss_without_htmx_or_without_the_right_to_post_goes_to_the_page(
    client, htmx, seeded_article, settings
):
    url = reverse("comments:anchor", kwargs={"slug": seeded_article.slug}) + "?anchor=k-1"
    on_page = f"{seeded_article.get_absolute_url()}?anchor=k-1#comment-form"
    assert client.get(url)["Location"] == on_page
    settings.EVR_GUEST_COMMENTS = False
    assert htmx.get(url)["HX-Redirect"] == on_page


def test_the_page_with_an_anchor_is_cached_apart_from_the_plain_page(make_client, seeded_article):
    reader = make_client()
    url = seeded_article.get_absolute_url()
    assert not elements(reader.get(url), "#comment-form [name='anchor']")
    anchored = reader.get(f"{url}?anchor=p-3")
    assert element(anchored, "#comment-form [name='anchor']")["value"] == "p-3"
    assert not elements(reader.get(url), "#comment-form [name='anchor']")
    other = make_client().get(f"{url}?anchor=k-2")
    assert element(other, "#comment-form [name='anchor']")["value"] == "k-2"


def test_an_unknown_label_on_the_page_fills_in_nothing(client, seeded_article):
    page = client.get(f"{seeded_article.get_absolute_url()}?anchor=p-99")
    assert page.status_code == 200
    assert not elements(page, "#comment-form [name='anchor']")


# Posting


@pytest.mark.parametrize("with_htmx", [True, False])
def test_a_comment_on_a_paragraph_shows_its_quote_linking_back(client, seeded_article, with_htmx):
    browser = client.htmx if with_htmx else client
    response = post_comment(browser, seeded_article, body="Is that sure?", anchor="p-3")

    comment = Comment.objects.get()
    assert comment.anchor == "p-3"
    if not with_htmx:
        response = client.get(response["Location"], follow=True)
    shown = element(response, f"#c-{comment.pk}")
    quote = element(shown, "blockquote")
    assert QUOTE_OF_P3 in text(quote)
    assert element(quote, "a")["href"] == f"{seeded_article.get_absolute_url()}#p-3"
    assert text(element(shown, ".comment__body")) == "Is that sure?"


def test_a_comment_on_a_fact_card_quotes_the_fact(client, seeded_article):
    fact = card_fact(seeded_article)
    post_comment(client, seeded_article, body="Below the Micra, really?", anchor=f"fact-{fact.pk}")

    comment = Comment.objects.get()
    page = client.get(seeded_article.get_absolute_url())
    quote = element(page, f"#c-{comment.pk} blockquote")
    assert fact.statement in text(quote)
    assert element(quote, "a")["href"] == f"{seeded_article.get_absolute_url()}#fact-{fact.pk}"


def test_the_anchor_can_be_taken_off_before_posting(client, seeded_article):
    post_comment(client, seeded_article, body="About the whole article.")  # box unticked
    comment = Comment.objects.get()
    assert comment.anchor == ""
    page = client.get(seeded_article.get_absolute_url())
    assert not elements(page, f"#c-{comment.pk} blockquote")


@pytest.mark.parametrize(
    "anchor",
    ["p-99", "k-3", "fact-999999", "table-fact", "p-3; drop", "<b>p-3</b>", "p-" + "1" * 40],
)
@pytest.mark.parametrize("with_htmx", [True, False])
def test_an_unknown_anchor_is_refused_clearly_with_the_text_kept(
    client, seeded_article, anchor, with_htmx
):
    if anchor == "table-fact":
        anchor = f"fact-{table_fact(seeded_article).pk}"
    browser = client.htmx if with_htmx else client
    response = post_comment(browser, seeded_article, body="My words, kept.", anchor=anchor)

    assert response.status_code == 422
    assert not Comment.objects.exists()
    form = element(response, "#comment-form")
    assert ANCHOR_UNKNOWN in text(element(form, ".errorlist"))
    assert text(element(form, "textarea[name='body']")) == "My words, kept."
    # The reference is taken off the form: posting it again publishes the comment.
    assert not elements(form, "[name='anchor']")
    assert post_comment(client, seeded_article, body="My words, kept.").status_code == 302
    assert Comment.objects.get().anchor == ""


def test_a_reply_answers_its_comment_and_keeps_no_anchor(client, seeded_article, add_comment):
    parent = add_comment(seeded_article, "On paragraph 3.", anchor="p-3")
    reply_form = client.get(reverse("comments:reply", kwargs={"pk": parent.pk}))
    assert not elements(reply_form, "form [name='anchor']")

    post_comment(client, reply_to=parent, body="A reply.", anchor="p-4")

    reply = Comment.objects.get(parent=parent)
    assert reply.anchor == ""
    page = client.get(seeded_article.get_absolute_url())
    assert elements(page, f"#c-{parent.pk} blockquote")
    assert not elements(page, f"#c-{reply.pk} blockquote")


# Counts and the lists they open


def test_claims_show_how_many_listed_comments_respond_to_them(client, seeded_article, add_comment):
    fact = card_fact(seeded_article)
    add_comment(seeded_article, "One.", anchor="p-3")
    second = add_comment(seeded_article, "Two.", anchor="p-3")
    add_comment(seeded_article, "Held.", anchor="p-3", status=Comment.Status.PENDING)
    add_comment(seeded_article, "Gone.", anchor="p-3", deleted_at=second.created_at)
    add_comment(seeded_article, "A reply.", parent=second)
    add_comment(seeded_article, "On a fact.", anchor=f"fact-{fact.pk}")

    page = client.get(seeded_article.get_absolute_url())

    assert count_link(page, "p-3") == "2 comments on paragraph 3"
    assert count_link(page, f"fact-{fact.pk}") == "1 comment on this fact"
    assert count_link(page, "p-4") is None
    assert element(element(page, "#p-3"), "#claim-comments-p-3")
    assert not re.search("evr-claim-count", page.text)


def test_a_new_anchored_comment_changes_the_count_on_the_next_request(make_client, seeded_article):
    reader = make_client()
    url = seeded_article.get_absolute_url()
    assert count_link(reader.get(url), "p-3") is None
    assert count_link(reader.get(url), "p-3") is None  # now from the cached page

    post_comment(make_client(), seeded_article, body="A first one.", anchor="p-3")
    assert count_link(reader.get(url), "p-3") == "1 comment on paragraph 3"

    post_comment(make_client(), seeded_article, body="A second one.", anchor="p-3")
    assert count_link(reader.get(url), "p-3") == "2 comments on paragraph 3"


@pytest.fixture
def on_two_claims(seeded_article, add_comment):
    """Two comments on paragraph 3 (one with a reply), one on key point 1, one on nothing."""
    first = add_comment(seeded_article, "First on p-3.", anchor="p-3", minutes_ago=3)
    add_comment(seeded_article, "A reply to the first.", parent=first)
    add_comment(seeded_article, "Second on p-3.", anchor="p-3", minutes_ago=2)
    add_comment(seeded_article, "On key point 1.", anchor="k-1", minutes_ago=1)
    add_comment(seeded_article, "On the article.")
    return seeded_article


def listed_bodies(html):
    return [text(body) for body in elements(html, "#comments .comment__body")]


def test_the_count_lists_those_comments_in_place_with_htmx(client, on_two_claims):
    page = client.get(on_two_claims.get_absolute_url())
    count = element(page, "#claim-comments-p-3")
    assert count["hx-target"] == "#comment-threads"

    response = client.htmx.get(count["hx-get"], headers={"HX-Trigger": count["id"]})

    assert response.status_code == 200
    assert "<html" not in response.text
    threads = element(response, "#comment-threads")
    assert listed_bodies(threads) == ["Second on p-3.", "First on p-3.", "A reply to the first."]
    note = element(threads, "#claim-filter")
    assert text(note).startswith("Comments on paragraph 3 of the article.")
    assert elements(note, "a")[0]["href"] == f"{on_two_claims.get_absolute_url()}#p-3"
    # The sort and stance controls keep listing these comments only.
    controls = element(response, "#comment-controls")
    assert controls["hx-swap-oob"] == "true"
    assert element(controls, "input[name='anchor']")["value"] == "p-3"
    assert announced(response) == {
        "message": "Showing newest first, on paragraph 3.",
        "focus": "#claim-filter",
    }

    show_all = element(threads, "#claim-comments-all")
    everything = client.htmx.get(show_all["hx-get"], headers={"HX-Trigger": show_all["id"]})
    assert len(listed_bodies(everything)) == 5
    assert not elements(everything, "#claim-filter")
    assert not elements(element(everything, "#comment-controls"), "input[name='anchor']")
    assert announced(everything)["focus"] == "#comments"


def test_the_count_links_to_the_filtered_list_without_javascript(client, on_two_claims):
    page = client.get(on_two_claims.get_absolute_url())
    href = element(page, "#claim-comments-p-3")["href"]
    assert href == reverse("comments:list", kwargs={"slug": on_two_claims.slug}) + "?anchor=p-3"

    listed = client.get(href, follow=True)

    assert listed.redirect_chain[-1][0] == f"{on_two_claims.get_absolute_url()}?anchor=p-3#comments"
    assert listed_bodies(listed) == ["Second on p-3.", "First on p-3.", "A reply to the first."]
    # The form there responds to the same paragraph, and the sort keeps the filter.
    assert element(listed, "#comment-form [name='anchor']")["value"] == "p-3"
    assert element(listed, "#comment-controls input[name='anchor']")["value"] == "p-3"
    sorted_oldest = client.get(on_two_claims.get_absolute_url() + "?sort=oldest&anchor=p-3")
    assert listed_bodies(sorted_oldest) == [
        "First on p-3.",
        "A reply to the first.",
        "Second on p-3.",
    ]
    show_all = element(listed, "#claim-comments-all")["href"]
    assert len(listed_bodies(client.get(show_all))) == 5


@pytest.mark.parametrize("label", ["p-99", "fact-999999"])
def test_a_label_the_article_no_longer_has_lists_every_comment(client, htmx, on_two_claims, label):
    """A stale link (the paragraph was removed) shows the whole discussion, not an empty
    list with no way back to it."""
    page = client.get(f"{on_two_claims.get_absolute_url()}?anchor={label}")
    assert len(listed_bodies(page)) == 5
    assert not elements(page, "#claim-filter")
    fragment = htmx.get(
        reverse("comments:list", kwargs={"slug": on_two_claims.slug}), {"anchor": label}
    )
    assert len(listed_bodies(fragment)) == 5
    assert announced(fragment)["message"] == "Showing newest first."


def test_a_list_of_a_claim_without_comments_says_so(client, on_two_claims):
    page = client.get(f"{on_two_claims.get_absolute_url()}?anchor=p-5")
    assert listed_bodies(page) == []
    assert text(element(page, ".comments-empty")) == "No comments on this part of the article yet."


# Costs and freshness


def test_page_queries_do_not_grow_with_anchored_comments(
    make_client, seeded_article, add_comment, django_assert_max_num_queries
):
    labels = ["k-1", "k-2", "p-1", "p-3", f"fact-{card_fact(seeded_article).pk}"]
    for number, label in enumerate(labels):
        add_comment(seeded_article, f"On the Twingo, number {number}.", anchor=label)
    bump(CONTENT)
    with django_assert_max_num_queries(20) as few:
        make_client().get(seeded_article.get_absolute_url())

    for number in range(40):
        label = labels[number % len(labels)]
        add_comment(seeded_article, f"On the Leaf and the 500e, {number}.", anchor=label)
    bump(CONTENT)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = make_client().get(seeded_article.get_absolute_url())
    assert len(elements(page, "#comments blockquote")) == 20  # a page of threads


def test_an_editors_change_to_a_paragraph_shows_in_the_quotes_at_once(
    client, make_client, seeded_article, add_comment, staff_user
):
    comment = add_comment(seeded_article, "About paragraph 3.", anchor="p-3")
    reader = make_client()
    url = seeded_article.get_absolute_url()
    assert QUOTE_OF_P3 in text(element(reader.get(url), f"#c-{comment.pk} blockquote"))

    client.force_login(staff_user)
    paragraph = seeded_article.paragraphs.get(kind=Paragraph.Kind.BODY, position=3)
    response = client.post(
        reverse("admin:articles_paragraph_change", args=[paragraph.pk]),
        {
            "article": seeded_article.pk,
            "kind": paragraph.kind,
            "position": 3,
            "text": "A corrected third paragraph.",
        },
    )
    assert response.status_code == 302

    quote = element(reader.get(url), f"#c-{comment.pk} blockquote")
    assert "A corrected third paragraph." in text(quote)
