import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comments.models import BannedWord, Comment, CommentReport, ReaderControl
from tests.conftest import elements

CHANGELIST = reverse("admin:comments_comment_changelist")


@pytest.fixture
def superuser_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def article(make_article):
    return make_article(headline="Small EVs", slug="small-evs")


@pytest.fixture
def add_comment(add_comment):
    """Comments as the queue has them: each with an address hash, a guest's with an email."""

    def add(article, body="A comment.", *, user=None, **fields):
        defaults = {"ip_hash": "9" * 64}
        if user is None:
            defaults.update(
                author_name="Guest Greta", reader_token="g" * 32, email="greta@example.com"
            )
        return add_comment(article, body, user=user, **{**defaults, **fields})

    return add


def add_comments(add_comment, article, count, make_user, *, prefix="c"):
    users = [make_user(f"{prefix}-author-{number}") for number in range(3)]
    comments = []
    for number in range(count):
        comment = add_comment(
            article, f"Comment number {number}.", user=users[number % 4 - 1] if number % 4 else None
        )
        if number % 5 == 0:
            CommentReport.objects.create(
                comment=comment, reader_token=f"{number:032}", reason="spam"
            )
            Comment.objects.filter(pk=comment.pk).update(report_count=1)
        comments.append(comment)
    return comments


def changelist_queries(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST, params)
    assert response.status_code == 200
    return len(queries)


def test_the_changelist_query_count_does_not_grow_with_the_comments(
    moderator_client, make_article, make_user, add_comment
):
    few_article = make_article()
    add_comments(add_comment, few_article, 4, make_user, prefix="few")
    few = changelist_queries(moderator_client)

    many_article = make_article()
    add_comments(add_comment, many_article, 120, make_user, prefix="many")
    many = changelist_queries(moderator_client)

    assert many == few
    assert many <= 12


def test_the_queue_shows_an_excerpt_author_article_and_status(
    moderator_client, article, reader, add_comment
):
    add_comment(article, "Line one\n\nline two " + "x" * 200, user=reader)
    add_comment(
        article, "A guest speaks.", status=Comment.Status.PENDING, hold_reason="Too many links."
    )
    page = moderator_client.get(CHANGELIST).content.decode()
    assert "Too many links." in page
    assert "Line one line two xxx" in page
    assert "x" * 100 not in page
    assert "reader (reader)" in page
    assert "Guest Greta (guest)" in page
    assert "Small EVs" in page
    assert "Pending" in page


def test_filters_by_status_article_and_reports_and_search(
    moderator_client, article, make_article, add_comment
):
    other = make_article(headline="Another story")
    pending = add_comment(article, "Pending words.", status=Comment.Status.PENDING)
    reported = add_comment(article, "Reported words.", report_count=2)
    elsewhere = add_comment(other, "Elsewhere words.", reader_token="h" * 32)

    def shown(**params):
        page = moderator_client.get(CHANGELIST, params).content.decode()
        return {c.body for c in (pending, reported, elsewhere) if c.body in page}

    assert shown(status__exact="pending") == {"Pending words."}
    assert shown(reported="yes") == {"Reported words."}
    assert shown(reported="no") == {"Pending words.", "Elsewhere words."}
    assert shown(article__id__exact=other.pk) == {"Elsewhere words."}
    assert shown(q="reported") == {"Reported words."}
    assert shown(same_address_as=elsewhere.pk) == {c.body for c in (pending, reported, elsewhere)}
    assert shown(same_guest_as=elsewhere.pk) == {"Elsewhere words."}


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("approve", Comment.Status.APPROVED),
        ("reject", Comment.Status.REJECTED),
        ("mark_spam", Comment.Status.SPAM),
    ],
)
def test_bulk_actions_set_the_status(moderator_client, article, action, status, add_comment):
    chosen = [
        add_comment(article, f"Held {number}.", status=Comment.Status.PENDING)
        for number in range(3)
    ]
    untouched = add_comment(article, "Not selected.", status=Comment.Status.PENDING)
    response = moderator_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [comment.pk for comment in chosen]},
        follow=True,
    )
    assert response.status_code == 200
    assert "3 comments." in response.content.decode()
    assert {c.status for c in Comment.objects.filter(pk__in=[c.pk for c in chosen])} == {status}
    untouched.refresh_from_db()
    assert untouched.status == Comment.Status.PENDING
    history = LogEntry.objects.filter(action_flag=CHANGE)
    assert sorted(int(entry.object_id) for entry in history) == [c.pk for c in chosen]
    assert {entry.user.get_username() for entry in history} == {"moderator"}
    assert status.label in history.first().change_message


def test_a_moderator_cannot_delete_or_add_comments(moderator_client, article, add_comment):
    comment = add_comment(article)
    page = moderator_client.get(CHANGELIST).content.decode()
    assert not elements(page, '[value="delete_selected"]')
    assert moderator_client.get(reverse("admin:comments_comment_add")).status_code == 403
    delete_url = reverse("admin:comments_comment_delete", args=[comment.pk])
    assert moderator_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_a_moderator_changes_the_status_but_not_the_words(moderator_client, article, add_comment):
    comment = add_comment(article, "Original words.", status=Comment.Status.PENDING)
    url = reverse("admin:comments_comment_change", args=[comment.pk])
    page = moderator_client.get(url).content.decode()
    assert comment.ip_hash not in page
    assert f"?same_address_as={comment.pk}" in page
    assert not elements(page, '[name="ip_hash"]')
    assert "greta@example.com" not in page
    response = moderator_client.post(
        url,
        {
            "status": "approved",
            "hold_reason": "",
            "body": "Rewritten by someone else.",
            "reports-TOTAL_FORMS": "0",
            "reports-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED
    assert comment.body == "Original words."


def test_superusers_see_the_guests_email(superuser_client, article, add_comment):
    comment = add_comment(article)
    url = reverse("admin:comments_comment_change", args=[comment.pk])
    assert "greta@example.com" in superuser_client.get(url).content.decode()


def test_reports_are_inline_and_dismissing_one_updates_the_count(
    moderator_client, article, reader, add_comment
):
    comment = add_comment(article, status=Comment.Status.PENDING, report_count=2)
    kept = CommentReport.objects.create(comment=comment, user=reader, reason="abuse", note="Rude")
    dismissed = CommentReport.objects.create(comment=comment, reader_token="r" * 32, reason="spam")
    url = reverse("admin:comments_comment_change", args=[comment.pk])
    page = moderator_client.get(url).content.decode()
    assert "Abusive or hateful" in page
    assert "Rude" in page
    assert "A guest" in page
    response = moderator_client.post(
        url,
        {
            "status": "pending",
            "hold_reason": "",
            "reports-TOTAL_FORMS": "2",
            "reports-INITIAL_FORMS": "2",
            "reports-0-id": kept.pk,
            "reports-0-comment": comment.pk,
            "reports-1-id": dismissed.pk,
            "reports-1-comment": comment.pk,
            "reports-1-DELETE": "on",
        },
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert list(comment.reports.all()) == [kept]
    assert comment.report_count == 1


def test_banned_words_are_managed_in_the_admin(moderator_client):
    add_url = reverse("admin:comments_bannedword_add")
    assert moderator_client.post(add_url, {"word": "  Scam  "}).status_code == 302
    assert list(BannedWord.objects.values_list("word", flat=True)) == ["Scam"]
    response = moderator_client.post(add_url, {"word": "scam"})
    assert response.status_code == 200
    assert "already on the list" in response.content.decode()
    assert BannedWord.objects.count() == 1


def test_banning_authors_from_the_queue(moderator_client, article, reader, make_user, add_comment):
    other = make_user("other")
    ReaderControl.objects.create(user=other, always_premoderate=True)
    chosen = [
        add_comment(article, "By reader.", user=reader),
        add_comment(article, "Again by reader.", user=reader),
        add_comment(article, "By other.", user=other),
        add_comment(article, "By a guest."),
    ]
    response = moderator_client.post(
        CHANGELIST,
        {"action": "ban_authors", "_selected_action": [comment.pk for comment in chosen]},
        follow=True,
    )
    page = response.content.decode()
    assert "Banned 2 readers." in page
    assert "1 selected comment is by guests" in page
    assert ReaderControl.objects.get(user=reader).is_banned
    other_control = ReaderControl.objects.get(user=other)
    assert other_control.is_banned
    assert other_control.always_premoderate


def test_premoderating_authors_from_the_queue(moderator_client, article, reader, add_comment):
    comment = add_comment(article, user=reader)
    moderator_client.post(
        CHANGELIST, {"action": "premoderate_authors", "_selected_action": [comment.pk]}
    )
    control = ReaderControl.objects.get(user=reader)
    assert control.always_premoderate
    assert not control.is_banned


def test_reader_controls_can_be_lifted(moderator_client, reader):
    control = ReaderControl.objects.create(user=reader, is_banned=True)
    url = reverse("admin:comments_readercontrol_change", args=[control.pk])
    assert "Their comments" in moderator_client.get(url).content.decode()
    response = moderator_client.post(url, {"is_banned": "", "note": "Apologised."})
    assert response.status_code == 302
    control.refresh_from_db()
    assert not control.is_banned
    assert control.user == reader


def test_reader_controls_are_on_the_user_page(superuser_client, reader):
    url = reverse("admin:auth_user_change", args=[reader.pk])
    page = superuser_client.get(url).content.decode()
    assert "reader_control-0-is_banned" in page


def test_the_moderators_group_can_only_moderate_comments(
    moderator_client, moderator, article, add_comment
):
    comment = add_comment(article, status=Comment.Status.PENDING)
    response = moderator_client.post(
        CHANGELIST, {"action": "approve", "_selected_action": [comment.pk]}
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.status == Comment.Status.APPROVED

    for name in ["auth_user_changelist", "auth_group_changelist", "articles_article_changelist"]:
        assert moderator_client.get(reverse(f"admin:{name}")).status_code == 403
    article_page = reverse("admin:articles_article_change", args=[article.pk])
    assert moderator_client.get(article_page).status_code == 403
    assert not moderator.has_perm("comments.change_poll")
    assert not moderator.has_perm("comments.delete_comment")
    assert moderator.has_perm("comments.delete_commentreport")
    assert moderator.has_perm("comments.add_bannedword")


def test_the_moderators_group_has_exactly_the_moderation_permissions(db):
    codenames = set(
        Group.objects.get(name="Moderators").permissions.values_list("codename", flat=True)
    )
    assert codenames == {
        "view_comment",
        "change_comment",
        "view_commentreport",
        "change_commentreport",
        "delete_commentreport",
        "view_bannedword",
        "add_bannedword",
        "change_bannedword",
        "delete_bannedword",
        "view_readercontrol",
        "change_readercontrol",
    }
    assert Permission.objects.filter(codename="change_comment").count() == 1


def export_url(article):
    return reverse("admin:comments_comment_export", kwargs={"article_id": article.pk})


def test_export_gives_an_articles_comments_without_private_fields(
    moderator_client, article, make_article, reader, add_comment
):
    first = add_comment(article, "First <b>words</b>.")
    reply = add_comment(article, "A reply.", user=reader, parent=first)
    add_comment(article, "Gone.", deleted_at=first.created_at)
    add_comment(make_article(), "On another article.")

    response = moderator_client.get(export_url(article))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="comments-small-evs.json"' in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["articles"] == [{"id": article.pk, "headline": "Small EVs", "slug": "small-evs"}]
    rows = data["comments"]
    assert [row["body"] for row in rows] == ["First <b>words</b>.", "A reply.", ""]
    assert rows[1]["parent"] == first.pk
    assert rows[1]["account"] == "reader"
    assert rows[0]["account"] is None
    assert rows[1]["url"] == reply.get_absolute_url()
    raw = response.content.decode()
    assert "greta@example.com" not in raw
    assert "9" * 64 not in raw
    assert "g" * 32 not in raw
    assert all("email" not in row and "ip_hash" not in row for row in rows)


def test_superusers_export_emails_and_address_hashes(superuser_client, article, add_comment):
    add_comment(article)
    rows = json.loads(superuser_client.get(export_url(article)).content)["comments"]
    assert rows[0]["email"] == "greta@example.com"
    assert rows[0]["ip_hash"] == "9" * 64


def test_export_needs_permission(client, make_user, article):
    assert client.get(export_url(article)).status_code == 302
    client.force_login(make_user("staff-without-rights", is_staff=True))
    assert client.get(export_url(article)).status_code == 403
    client.force_login(make_user("plain-reader"))
    assert client.get(export_url(article)).status_code == 302


def test_export_of_a_missing_article_is_404(moderator_client):
    url = reverse("admin:comments_comment_export", kwargs={"article_id": 999999})
    assert moderator_client.get(url).status_code == 404


def test_the_queue_links_to_the_export_when_filtered_by_article(
    moderator_client, article, add_comment
):
    add_comment(article)
    assert export_url(article) not in moderator_client.get(CHANGELIST).content.decode()
    page = moderator_client.get(CHANGELIST, {"article__id__exact": article.pk})
    assert export_url(article) in page.content.decode()


def test_selected_comments_can_be_downloaded(moderator_client, article, add_comment):
    chosen = add_comment(article, "Chosen.")
    add_comment(article, "Not chosen.")
    response = moderator_client.post(
        CHANGELIST, {"action": "export", "_selected_action": [chosen.pk]}
    )
    assert response.status_code == 200
    rows = json.loads(response.content)["comments"]
    assert [row["body"] for row in rows] == ["Chosen."]


def test_comment_text_is_escaped_in_the_admin(moderator_client, article, add_comment):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    comment = add_comment(article, payload, author_name="<b>Bold</b>")
    change_url = reverse("admin:comments_comment_change", args=[comment.pk])
    for page in (moderator_client.get(CHANGELIST), moderator_client.get(change_url)):
        html = page.content.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b>Bold</b>" not in html
        assert "&lt;script&gt;" in html


def test_the_change_page_keeps_the_comments_line_breaks(moderator_client, article, add_comment):
    comment = add_comment(article, "First line\nsecond line")
    page = moderator_client.get(reverse("admin:comments_comment_change", args=[comment.pk]))
    assert "First line<br>second line" in page.content.decode()


def test_approving_on_the_change_page_clears_the_hold(
    moderator_client, article, reader, add_comment
):
    comment = add_comment(
        article, status=Comment.Status.PENDING, report_count=3, hold_reason="Hidden after reports."
    )
    CommentReport.objects.create(comment=comment, user=reader, reason="abuse")
    report = comment.reports.get()
    response = moderator_client.post(
        reverse("admin:comments_comment_change", args=[comment.pk]),
        {
            "status": "approved",
            "hold_reason": "Hidden after reports.",
            "reports-TOTAL_FORMS": "1",
            "reports-INITIAL_FORMS": "1",
            "reports-0-id": report.pk,
            "reports-0-comment": comment.pk,
        },
    )
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.report_count, comment.hold_reason) == ("approved", 0, "")
    assert comment.reports.count() == 1, "the reports stay on record"
