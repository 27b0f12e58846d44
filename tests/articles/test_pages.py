import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Brand, CarModel, Fact, Paragraph
from articles.selectors import featured_article
from evsite.caching import CONTENT, bump
from tests.conftest import element, elements, text

ARTICLE_URL = "/articles/nissan-small-ev-below-leaf/"
ANCHOR = re.compile(r"[pk]-\d+")


def json_ld_block(html):
    """The text of the page's one JSON-LD script, as sent."""
    return element(html, 'script[type="application/ld+json"]').string


def json_ld(html):
    return json.loads(json_ld_block(html))


def test_home_shows_the_latest_published_article(client, seeded_article, make_article):
    make_article(
        headline="An older story", published_at=timezone.now() - timezone.timedelta(days=30)
    )
    make_article(headline="A draft story", status=Article.Status.DRAFT)
    response = client.get("/")
    assert response.status_code == 200
    assert (
        text(element(response, "h1#headline")) == "Nissan’s Next Small EV Will Sit Below the Leaf"
    )


def test_home_without_articles_says_so(client, without_seed):
    response = client.get("/")
    assert response.status_code == 404
    assert "No articles yet" in response.text


def test_article_page_shows_text_with_paragraph_anchors(client, seeded_article):
    response = client.get(ARTICLE_URL)
    html = response.text
    assert response.status_code == 200
    assert seeded_article.standfirst in html
    for paragraph in seeded_article.paragraphs.all():
        assert elements(html, f"#{paragraph.anchor}")
        assert paragraph.text.replace("'", "&#x27;").replace('"', "&quot;") in html
    assert elements(html, "#p-12") and elements(html, "#k-2")
    assert "Published <time" in html


def test_fact_sources_link_to_anchors_on_the_page(client, seeded_article):
    html = client.get(ARTICLE_URL).text
    anchors = {node["id"] for node in elements(html, "[id]") if ANCHOR.fullmatch(node["id"])}
    links = {
        link["href"].removeprefix("#")
        for link in elements(html, "a.source-link[href^='#']")
        if ANCHOR.fullmatch(link["href"].removeprefix("#"))
    }
    assert links, "no source links"
    assert links <= anchors
    assert {"p-3", "p-4", "p-10", "k-1", "k-2"} <= links


def test_model_table_shows_known_values_and_not_stated(client, seeded_article):
    html = client.get(ARTICLE_URL).text
    table = element(html, ".models-table")
    assert "Twingo (electric)" in text(table)
    assert "Less than €20,000 ($22,000)" in text(table)
    assert "Exploring development" in text(table)
    assert "Not stated" in text(table)
    (nissan_row,) = [text(row) for row in table.select("tr") if "Nissan A-segment EV" in text(row)]
    assert "AmpR Small" in nissan_row
    assert "Less than" not in nissan_row


def test_unbacked_model_values_are_not_shown(client, seeded_article):
    twingo = CarModel.objects.get(slug="renault-twingo")
    twingo.segment = "Invented segment"
    twingo.save()
    assert "Invented segment" not in client.get(ARTICLE_URL).text


def test_timeline_lists_the_dated_events_in_order(client, seeded_article):
    html = client.get(ARTICLE_URL).text
    shown = [text(node) for node in element(html, ".timeline").find_all(True)]
    positions = [shown.index(str(year)) for year in (2026, 2027, 2028)]
    assert positions == sorted(positions)


def test_head_has_title_description_canonical_open_graph_and_json_ld(client, seeded_article):
    html = client.get(ARTICLE_URL).text
    assert (
        text(element(html, "title")) == "Nissan’s Next Small EV Will Sit Below the Leaf · EV Reader"
    )
    description = element(html, 'meta[name="description"]')["content"]
    assert description.startswith("Renault's Ampere unit")
    assert element(html, 'link[rel="canonical"]')["href"] == f"http://testserver{ARTICLE_URL}"
    assert elements(html, 'meta[property="og:title"]')
    assert element(html, 'meta[property="og:type"]')["content"] == "article"
    data = json_ld(html)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == seeded_article.headline
    assert data["datePublished"].startswith("2026-11-20")
    mentioned = {item["name"] for item in data["mentions"]}
    assert {"Renault Twingo (electric)", "Fiat 500e", "Alpine A290"} <= mentioned
    assert all(item["@type"] == "Car" for item in data["mentions"])


def test_json_ld_cannot_break_out_of_its_script(client, make_article):
    article = make_article(headline="</script><script>alert(1)</script>")
    html = client.get(article.get_absolute_url()).text
    block = json_ld_block(html)
    assert "<" not in block
    assert json.loads(block)["headline"] == article.headline


def test_facts_json_has_the_same_facts_with_sources(client, seeded_article):
    response = client.get(f"{ARTICLE_URL}facts.json")
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert len(data["facts"]) == seeded_article.facts.count()
    battery = [f for f in data["facts"] if f["year"] == 2028]
    assert battery[0]["source"]["paragraph"] == "p-10"
    assert battery[0]["source"]["url"].endswith(f"{ARTICLE_URL}#p-10")
    twingo = next(m for m in data["car_models"] if m["slug"] == "renault-twingo")
    assert twingo["fields"]["target_price"]["value"] == "Less than €20,000 ($22,000)"
    assert twingo["fields"]["segment"] is None
    assert [entry["year"] for entry in data["timeline"]] == [2026, 2027, 2028]


def test_drafts_are_404_for_readers_and_previewable_by_staff(client, make_article, staff_user):
    draft = make_article(status=Article.Status.DRAFT)
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(reverse("articles:facts_json", args=[draft.slug])).status_code == 404
    client.force_login(staff_user)
    response = client.get(draft.get_absolute_url())
    assert response.status_code == 200
    assert "this article is a draft" in response.text


def test_future_articles_are_not_published_yet(client, make_article):
    article = make_article(published_at=timezone.now() + timezone.timedelta(days=1))
    assert client.get(article.get_absolute_url()).status_code == 404


def test_a_scheduled_article_is_published_when_its_time_comes(
    client, seeded_article, make_article, monkeypatch
):
    due = timezone.now() + timezone.timedelta(hours=1)
    article = make_article(headline="The next story", published_at=due)
    assert client.get(article.get_absolute_url()).status_code == 404
    assert featured_article() == seeded_article

    monkeypatch.setattr(timezone, "now", lambda: due + timezone.timedelta(seconds=1))

    assert client.get(article.get_absolute_url()).status_code == 200
    assert featured_article() == article


@pytest.mark.parametrize("url", ["/articles/no-such-article/", "/models/nope/", "/brands/nope/"])
def test_unknown_pages_are_404(client, db, url):
    assert client.get(url).status_code == 404


def test_model_brand_and_platform_pages_list_their_sourced_facts(client, seeded_article):
    for url, expected in [
        ("/models/renault-twingo/", "slated to land in Europe in 2026"),
        ("/brands/alpine/", "enter North America in 2027"),
        ("/platforms/ampr-small/", "underpins the Alpine A290"),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert expected in response.text
        assert f"{ARTICLE_URL}#p-" in response.text or f"{ARTICLE_URL}#k-" in response.text


def test_article_page_query_count_does_not_grow_with_facts(
    client, seeded_article, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12) as baseline:
        client.get(ARTICLE_URL)
    brand = Brand.objects.create(name="Testbrand", slug="testbrand")
    paragraph = seeded_article.paragraphs.get(kind=Paragraph.Kind.BODY, position=1)
    for number in range(40):
        car_model = CarModel.objects.create(
            name=f"Model {number}", slug=f"model-{number}", brand=brand, segment="A-segment"
        )
        Fact.objects.create(
            article=seeded_article,
            topic=Fact.Topic.CAR_MODEL,
            statement=f"Fact {number}",
            certainty=Fact.Certainty.STATED,
            car_model=car_model,
            attribute=Fact.Attribute.SEGMENT,
            year=2026,
            paragraph=paragraph,
            quote="Nissan",
        )
    bump(CONTENT)  # as an editor's save in the admin does
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        response = client.get(ARTICLE_URL)
    assert "Model 39" in response.text


def test_facts_json_reads_in_a_few_queries(client, seeded_article, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert client.get(f"{ARTICLE_URL}facts.json").status_code == 200


def test_head_requests_are_answered_for_monitoring(client, seeded_article):
    assert client.head("/").status_code == 200
    assert client.head(ARTICLE_URL).status_code == 200
    assert client.post(ARTICLE_URL).status_code == 405


def test_a_fact_whose_table_cell_is_empty_is_still_listed(client, seeded_article):
    twingo = CarModel.objects.get(slug="renault-twingo")
    twingo.timing = ""
    twingo.save()
    html = client.get(ARTICLE_URL).text
    lists = text(element(html, ".facts__columns"))
    assert "The electric Twingo is slated to land in Europe in 2026." in lists
    assert "Twingo is a pocket-sized hatch." not in lists, "shown in the table already"
