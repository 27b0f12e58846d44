import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from articles.models import Article, Brand, CarModel, Fact, Paragraph, Platform

ARTICLE_MODELS = [Article, Paragraph, Brand, Platform, CarModel, Fact]


@pytest.fixture
def editor(make_user):
    user = make_user("editor", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.mark.parametrize("model", ARTICLE_MODELS, ids=lambda m: m.__name__)
def test_changelist_and_add_pages_load_for_staff(client, staff_user, seeded_article, model):
    client.force_login(staff_user)
    opts = model._meta
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_article_change_page_shows_paragraph_and_fact_inlines(client, staff_user, seeded_article):
    client.force_login(staff_user)
    response = client.get(reverse("admin:articles_article_change", args=[seeded_article.pk]))
    assert response.status_code == 200
    assert "Paragraph 12" in response.text or "paragraphs-11-text" in response.text
    assert "facts-0-quote" in response.text
    assert "View on site" in response.text


def test_fact_changelist_query_count_is_flat(
    client, staff_user, seeded_article, django_assert_max_num_queries
):
    client.force_login(staff_user)
    with django_assert_max_num_queries(12):
        client.get(reverse("admin:articles_fact_changelist"))


def test_editors_group_manages_content_but_not_users(client, editor, seeded_article):
    client.force_login(editor)
    assert client.get(reverse("admin:articles_article_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_editor_adds_an_article_with_facts_and_it_appears_on_the_site(client, editor, db):
    client.force_login(editor)
    add_url = reverse("admin:articles_article_add")
    management = {
        "paragraphs-TOTAL_FORMS": "2",
        "paragraphs-INITIAL_FORMS": "0",
        "facts-TOTAL_FORMS": "0",
        "facts-INITIAL_FORMS": "0",
    }
    response = client.post(
        add_url,
        {
            "headline": "Small EVs arrive in Lisbon",
            "slug": "small-evs-lisbon",
            "standfirst": "City cars go electric.",
            "byline": "Desk",
            "status": "published",
            "published_at_0": "2026-11-01",
            "published_at_1": "10:00:00",
            **management,
            "paragraphs-0-kind": "body",
            "paragraphs-0-position": "1",
            "paragraphs-0-text": "The Lisbon city hatch is on sale from 2026.",
            "paragraphs-1-kind": "key_point",
            "paragraphs-1-position": "1",
            "paragraphs-1-text": "A new small EV for Lisbon.",
        },
    )
    assert response.status_code == 302, response.content
    article = Article.objects.get(slug="small-evs-lisbon")
    paragraph = article.paragraphs.get(kind="body")

    brand = Brand.objects.create(name="Lisboa", slug="lisboa")
    car_model = CarModel.objects.create(
        name="City", slug="lisboa-city", brand=brand, status="on_sale"
    )
    change_url = reverse("admin:articles_article_change", args=[article.pk])
    form = {
        "headline": article.headline,
        "slug": article.slug,
        "standfirst": article.standfirst,
        "byline": "Desk",
        "status": "published",
        "published_at_0": "2026-11-01",
        "published_at_1": "10:00:00",
        "paragraphs-TOTAL_FORMS": "2",
        "paragraphs-INITIAL_FORMS": "2",
        "facts-TOTAL_FORMS": "1",
        "facts-INITIAL_FORMS": "0",
    }
    for index, existing in enumerate(article.paragraphs.order_by("kind", "position")):
        form.update(
            {
                f"paragraphs-{index}-id": existing.pk,
                f"paragraphs-{index}-article": article.pk,
                f"paragraphs-{index}-kind": existing.kind,
                f"paragraphs-{index}-position": existing.position,
                f"paragraphs-{index}-text": existing.text,
            }
        )
    fact = {
        "facts-0-position": "1",
        "facts-0-topic": "car_model",
        "facts-0-certainty": "stated",
        "facts-0-statement": "The City is on sale.",
        "facts-0-car_model": car_model.pk,
        "facts-0-attribute": "status",
        "facts-0-paragraph": paragraph.pk,
        "facts-0-year": "2026",
    }
    bad = client.post(change_url, {**form, **fact, "facts-0-quote": "words it never said"})
    assert bad.status_code == 200
    assert "word for word" in bad.text
    assert not article.facts.exists()

    response = client.post(change_url, {**form, **fact, "facts-0-quote": "is on sale from 2026"})
    assert response.status_code == 302, response.content
    assert article.facts.count() == 1

    page = client.get(article.get_absolute_url()).text
    assert "The Lisbon city hatch is on sale from 2026." in page
    assert "Lisboa City" in page and "On sale" in page


def test_fact_must_quote_a_paragraph_of_its_own_article(seeded_article, make_article):
    from django.core.exceptions import ValidationError

    other = make_article(paragraphs=["Nissan says nothing here."])
    fact = Fact(
        article=seeded_article,
        topic=Fact.Topic.MARKET,
        statement="x",
        certainty=Fact.Certainty.STATED,
        paragraph=other.paragraphs.get(),
        quote="Nissan",
    )
    with pytest.raises(ValidationError, match="paragraph of this fact's article"):
        fact.full_clean()


def test_publishing_a_draft_from_the_list_dates_it_now(client, staff_user, make_article):
    from django.utils import timezone

    draft = make_article(
        status=Article.Status.DRAFT, published_at=timezone.now() - timezone.timedelta(days=40)
    )
    client.force_login(staff_user)
    client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED
    assert timezone.now() - draft.published_at < timezone.timedelta(minutes=1)
    assert client.get("/").context["article"] == draft
