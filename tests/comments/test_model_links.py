"""Car model names in comment text link to the model on the article page. The names and
aliases are the car models' own, as editors keep them in the admin."""

import pytest
from django.urls import reverse

from articles.models import CarModel
from comments.models import Comment
from comments.text import NameLinks, render_plain_text
from evsite.caching import CONTENT, DISCUSSION, bump
from tests.conftest import element, elements, post_comment


def model_links(node):
    return [(link.get_text(), link["href"]) for link in elements(node, "a.model-link")]


def shown_comment(page, comment):
    return element(page, f"#c-{comment.pk} .comment__body")


def on_article(article, slug):
    return f"{article.get_absolute_url()}#model-{slug}"


def admin_form(car_model, **changes):
    """The admin's change form for `car_model` as saved, with `changes`."""
    fields = {
        "brand": car_model.brand_id,
        "name": car_model.name,
        "slug": car_model.slug,
        "platform": car_model.platform_id or "",
        "aliases": car_model.aliases,
        "segment": car_model.segment,
        "body_style": car_model.body_style,
        "status": car_model.status,
        "market": car_model.market,
        "timing": car_model.timing,
        "target_price": car_model.target_price or "",
        "target_price_currency": car_model.target_price_currency,
        "target_price_usd": car_model.target_price_usd or "",
    }
    if car_model.target_price_is_upper_bound:
        fields["target_price_is_upper_bound"] = "on"
    return {**fields, **changes}


@pytest.fixture
def editor(make_client, staff_user):
    browser = make_client()
    browser.force_login(staff_user)
    return browser


def test_model_names_and_aliases_link_to_the_model_on_the_article(client, seeded_article):
    post_comment(
        client,
        seeded_article,
        body="A Twingo beats the Renault 5 E-Tech, the Alpine A290 and the Leaf; so does a 500e.",
    )
    page = client.get(seeded_article.get_absolute_url())

    assert model_links(shown_comment(page, Comment.objects.get())) == [
        ("Twingo", on_article(seeded_article, "renault-twingo")),
        ("Renault 5 E-Tech", on_article(seeded_article, "renault-5-e-tech")),
        ("Alpine A290", on_article(seeded_article, "alpine-a290")),
        ("Leaf", on_article(seeded_article, "nissan-leaf")),
        ("500e", on_article(seeded_article, "fiat-500e")),
    ]
    for slug in ("renault-twingo", "renault-5-e-tech", "alpine-a290", "nissan-leaf", "fiat-500e"):
        assert element(page, f"#model-facts #model-{slug}")


def test_names_match_as_whole_words_in_any_letter_case(client, seeded_article):
    post_comment(
        client,
        seeded_article,
        body="A leafy street of LEAF owners: Leafs, twingos, A2900, 500electric, the 5 E-Tech.",
    )
    page = client.get(seeded_article.get_absolute_url())

    assert [name for name, _ in model_links(shown_comment(page, Comment.objects.get()))] == [
        "LEAF",
        "5 E-Tech",
    ]


def test_no_name_is_linked_inside_an_existing_link(client, seeded_article):
    post_comment(
        client,
        seeded_article,
        body="Reviews: https://example.com/twingo-review and www.example.org/Leaf/500e here.",
    )
    body = shown_comment(client.get(seeded_article.get_absolute_url()), Comment.objects.get())

    assert model_links(body) == []
    assert [link["href"] for link in elements(body, "a")] == [
        "https://example.com/twingo-review",
        "https://www.example.org/Leaf/500e",
    ]
    assert not elements(body, "a a")


def test_names_in_comment_text_stay_escaped(client, seeded_article):
    post_comment(client, seeded_article, body='<b>Twingo</b> & "Leaf" <script>A290</script>')
    html = client.get(seeded_article.get_absolute_url()).text
    comment = Comment.objects.get()
    body = shown_comment(html, comment)

    assert body.get_text() == '<b>Twingo</b> & "Leaf" <script>A290</script>'
    assert [name for name, _ in model_links(body)] == ["Twingo", "Leaf", "A290"]
    assert not elements(body, "b, script")
    section = html.split(f'id="c-{comment.pk}"')[1]
    assert "&lt;b&gt;<a " in section and "&lt;script&gt;" in section


def test_words_no_model_has_are_left_alone_until_an_editor_adds_them(
    make_client, editor, seeded_article
):
    post_comment(make_client(), seeded_article, body="An R5 or a Twingo? The Zoe, surely.")
    comment = Comment.objects.get()
    reader = make_client()
    url = seeded_article.get_absolute_url()
    assert [name for name, _ in model_links(shown_comment(reader.get(url), comment))] == ["Twingo"]

    for slug, aliases in [("renault-5-e-tech", "Renault 5 E-Tech, R5"), ("renault-twingo", "")]:
        car_model = CarModel.objects.get(slug=slug)
        change = reverse("admin:articles_carmodel_change", args=[car_model.pk])
        assert editor.post(change, admin_form(car_model, aliases=aliases)).status_code == 302

    # The next request shows the editors' names: R5 now, the bare "Twingo" no longer.
    assert model_links(shown_comment(reader.get(url), comment)) == [
        ("R5", on_article(seeded_article, "renault-5-e-tech"))
    ]


def test_the_car_model_admin_shows_and_searches_the_aliases(editor, seeded_article):
    car_model = CarModel.objects.get(slug="renault-twingo")
    form = editor.get(reverse("admin:articles_carmodel_change", args=[car_model.pk]))
    assert element(form, "input[name='aliases']")["value"] == "Twingo, Renault Twingo"

    found = editor.get(reverse("admin:articles_carmodel_changelist") + "?q=Renault+Twingo")
    assert "Twingo (electric)" in found.text


def test_linking_names_costs_no_query_per_comment(
    htmx, seeded_article, add_comment, django_assert_max_num_queries
):
    url = reverse("comments:list", kwargs={"slug": seeded_article.slug})
    for number in range(3):
        add_comment(seeded_article, f"The Twingo and the Leaf, take {number}.")
    with django_assert_max_num_queries(12) as few:
        htmx.get(url)

    for number in range(17):
        add_comment(seeded_article, f"The A290 or the 500e, take {number}.")
    bump(CONTENT, DISCUSSION)  # read and render all again, as after an editor's save
    with django_assert_max_num_queries(len(few.captured_queries)):
        listed = htmx.get(url)
    assert len(elements(listed, "a.model-link")) == 40


def test_the_longest_name_is_one_link_and_spaces_may_vary():
    names = NameLinks(
        [("5 E-Tech", "/r5"), ("Renault 5 E-Tech", "/r5"), ("Leaf", "/leaf"), ("5", "/five")]
    )
    html = render_plain_text("Renault  5 E-Tech, 5 E-Tech and 5 Leafs.", names)
    assert html == (
        '<p><a class="model-link" href="/r5">Renault  5 E-Tech</a>, '
        '<a class="model-link" href="/r5">5 E-Tech</a> and 5 Leafs.</p>'
    )
