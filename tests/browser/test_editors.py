"""Editors and moderators work in the Django admin; readers see the result on the site."""

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from comments import services
from comments.models import Comment
from comments.readers import Reader

from .checks import assert_accessible

pytestmark = pytest.mark.browser

PASSWORD = "a-long-Passw0rd!"
editors_migration = importlib.import_module("articles.migrations.0002_editors_group")


@pytest.fixture
def editor(make_user):
    """A staff member in the Editors group (made again: the live server's database is emptied
    after every test, data migrations included)."""
    group, _ = Group.objects.get_or_create(name=editors_migration.EDITORS)
    for app_label, models in editors_migration.EDITOR_MODELS.items():
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model__in=models,
                codename__regex=r"^(add|change|delete|view)_",
            )
        )
    user = make_user("editor", is_staff=True)
    user.groups.add(group)
    return user


def admin_log_in(page, user):
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_editor_publishes_an_article_with_a_fact_and_a_poll(page, editor, reader_context):
    admin_log_in(page, editor)

    page.goto("/admin/articles/article/add/")
    page.get_by_label("Headline").fill("Tiny EVs return to the city")
    page.get_by_label("Headline").press("Tab")
    expect(page.get_by_label("Slug")).to_have_value("tiny-evs-return-to-the-city")
    page.get_by_label("Standfirst").fill(
        "Carmakers plan smaller electric cars for crowded streets."
    )
    page.get_by_label("Byline").fill("Test Desk")
    paragraphs = page.locator("#paragraphs-group")
    paragraphs.get_by_role("button", name="Add another Paragraph").click()
    paragraphs.locator("select[name='paragraphs-0-kind']").select_option(label="Body paragraph")
    paragraphs.locator("input[name='paragraphs-0-position']").fill("1")
    paragraphs.locator("textarea[name='paragraphs-0-text']").fill(
        "City planners want cars under four metres long by 2028."
    )
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    facts = page.locator("#facts-group")
    facts.locator("summary, .collapse-toggle").first.click()
    facts.get_by_role("button", name="Add another Fact").click()
    facts.locator("select[name='facts-0-topic']").select_option(label="Market")
    facts.locator("select[name='facts-0-certainty']").select_option(label="Planned")
    facts.locator("[name='facts-0-statement']").fill("City cars under four metres are planned.")
    facts.locator("select[name='facts-0-paragraph']").select_option(index=1)
    facts.locator("textarea[name='facts-0-quote']").fill("cars under four metres long")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto("/admin/comments/poll/add/")
    page.get_by_label("Article").select_option(label="Tiny EVs return to the city")
    page.get_by_label("Question").fill("Would you buy a car under four metres?")
    choices = page.locator("#choices-group")
    for number, label in enumerate(["Yes", "No"]):
        choices.get_by_role("button", name="Add another Poll choice").click()
        choices.locator(f"input[name='choices-{number}-label']").fill(label)
        choices.locator(f"input[name='choices-{number}-position']").fill(str(number + 1))
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    reader_page = reader_context().new_page()
    response = reader_page.goto("/articles/tiny-evs-return-to-the-city/")
    assert response.status == 404, "a draft must not be readable before it is published"

    page.goto("/admin/articles/article/")
    page.locator("#result_list tr").filter(has_text="Tiny EVs return to the city").locator(
        "input.action-select"
    ).check()
    page.locator("select[name='action']").select_option(label="Publish the selected articles")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_contain_text("Published 1 article")

    reader_page.goto("/articles/tiny-evs-return-to-the-city/")
    expect(reader_page.get_by_role("heading", level=1)).to_have_text("Tiny EVs return to the city")
    expect(reader_page.locator("#p-1")).to_contain_text("under four metres long by 2028")
    facts = reader_page.locator("#model-facts")
    statement = facts.locator(".fact__statement", has_text="City cars under four metres")
    expect(statement).to_have_text("City cars under four metres are planned.")
    expect(statement).to_be_visible()
    expect(
        reader_page.get_by_role("group", name="Would you buy a car under four metres?")
    ).to_be_visible()
    assert_accessible(reader_page, "an article the editor just published")


def test_moderator_rejects_a_comment_and_readers_no_longer_see_it(
    page, moderator, seeded_article, reader_context
):
    kept, rejected = (
        services.comment_create(
            article=seeded_article,
            parent=None,
            reader=Reader(),
            author_name="Guest",
            body=body,
        )
        for body in ("A fair point about Lisbon parking.", "Buy cheap watches at spam.example")
    )
    reader_page = reader_context().new_page()
    reader_page.goto(seeded_article.get_absolute_url())
    expect(reader_page.locator(f"#c-{rejected.pk}")).to_be_visible()

    admin_log_in(page, moderator)
    page.goto("/admin/comments/comment/")
    row = page.locator("#result_list tr").filter(has_text="cheap watches")
    row.locator("input.action-select").check()
    page.locator("select[name='action']").select_option(label="Reject the selected comments")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".messagelist")).to_be_visible()

    reader_page.reload()
    expect(reader_page.locator(f"#c-{kept.pk}")).to_be_visible()
    expect(reader_page.locator(f"#c-{rejected.pk}")).to_have_count(0)
    expect(reader_page.locator("#comments")).not_to_contain_text("cheap watches")
    assert Comment.objects.get(pk=rejected.pk).status == Comment.Status.REJECTED
