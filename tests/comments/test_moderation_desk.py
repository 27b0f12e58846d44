"""The moderation desk: the queue's tabs, its entries and their authors' records, the actions
(in place with htmx and without JavaScript, one at a time and in bulk), the history they
leave, who may do what, the queries a page costs, and the numbers on the admin index."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from comments import desk, services
from comments.models import Comment, CommentReport, ModerationAction, ReaderControl
from comments.readers import Reader
from comments.refusals import Refused
from evsite.caching import DISCUSSION, versions
from tests.conftest import HTMX_HEADERS, element, elements, first_element, text

QUEUE = reverse("admin:comments_comment_queue")
INDEX = reverse("admin:index")
GUEST_EMAIL = "greta@example.com"
GUEST_HASH = "9" * 64
GUEST_TOKEN = "g" * 32

PENDING = Comment.Status.PENDING
APPROVED = Comment.Status.APPROVED
REJECTED = Comment.Status.REJECTED
SPAM = Comment.Status.SPAM


@pytest.fixture
def editor(make_user):
    user = make_user("editor", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def viewer(make_user):
    """Staff who may view comments but not change them."""
    user = make_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_comment"))
    return user


@pytest.fixture
def article(make_article):
    return make_article(headline="Small EVs", slug="small-evs")


@pytest.fixture
def add_comment(add_comment):
    """Comments as readers leave them: with an address hash; a guest's with a token and email."""

    def add(article, body="A comment.", *, user=None, **fields):
        defaults = {"ip_hash": GUEST_HASH}
        if user is None:
            defaults.update(author_name="Guest Greta", reader_token=GUEST_TOKEN, email=GUEST_EMAIL)
        return add_comment(article, body, user=user, **{**defaults, **fields})

    return add


def entry_ids(response):
    return [int(entry["id"].removeprefix("entry-")) for entry in elements(response, ".desk-entry")]


def tab_counts(response):
    return {
        text(link).split()[0]: int(text(element(link, ".desk-count")))
        for link in elements(response, "#desk-tabs a")
    }


def act(client, comment, action, *, htmx=False, **fields):
    data = {"comment": comment.pk, "action": action, "tab": "held", **fields}
    headers = HTMX_HEADERS if htmx else {}
    return client.post(QUEUE, data, headers=headers)


def after_settle_events(response):
    return json.loads(response["HX-Trigger-After-Settle"])


# --- Tabs ----------------------------------------------------------------------------------------


def test_each_tab_lists_its_comments_oldest_first_or_newest_first(
    moderator_client, article, add_comment
):
    old_pending = add_comment(article, "Old pending.", status=PENDING, minutes_ago=50)
    spam = add_comment(article, "Spam.", status=SPAM, minutes_ago=40)
    new_pending = add_comment(article, "New pending.", status=PENDING, minutes_ago=5)
    add_comment(article, "Deleted pending.", status=PENDING, deleted_at=timezone.now())
    add_comment(article, "Rejected.", status=REJECTED, minutes_ago=30)
    old_reported = add_comment(article, "Old reported.", report_count=2, minutes_ago=45)
    new_reported = add_comment(article, "New reported.", report_count=1, minutes_ago=10)
    plain = add_comment(article, "Plain.", minutes_ago=20)

    held = moderator_client.get(QUEUE)
    assert entry_ids(held) == [old_pending.pk, spam.pk, new_pending.pk]
    assert element(held, "#desk-tabs [aria-current=page]").get_text().startswith("Held")
    assert tab_counts(held) == {"Held": 3, "Reported": 2, "Recent": 3}

    reported = moderator_client.get(QUEUE, {"tab": "reported"})
    assert entry_ids(reported) == [old_reported.pk, new_reported.pk]

    recent = moderator_client.get(QUEUE, {"tab": "recent"})
    assert entry_ids(recent) == [new_reported.pk, plain.pk, old_reported.pk]

    assert entry_ids(moderator_client.get(QUEUE, {"tab": "nonsense"})) == entry_ids(held)


def test_the_queue_is_paginated(moderator_client, article, add_comment):
    held = [
        add_comment(article, f"Held {number}.", status=PENDING, minutes_ago=100 - number)
        for number in range(desk.QUEUE_PAGE_SIZE + 3)
    ]
    first = moderator_client.get(QUEUE)
    assert entry_ids(first) == [comment.pk for comment in held[: desk.QUEUE_PAGE_SIZE]]
    assert "Page 1 of 2" in text(element(first, ".desk-pages"))
    second = moderator_client.get(QUEUE, {"tab": "held", "page": 2})
    assert entry_ids(second) == [comment.pk for comment in held[desk.QUEUE_PAGE_SIZE :]]
    assert entry_ids(moderator_client.get(QUEUE, {"page": "abc"})) == entry_ids(first)
    assert entry_ids(moderator_client.get(QUEUE, {"page": "999"})) == entry_ids(second)


# --- Entries and records ----------------------------------------------------------------------


def test_an_entry_shows_what_a_moderator_needs_at_a_glance(
    moderator_client, article, reader, poll, add_comment
):
    parent = add_comment(article, "What about range in winter?", author_name="Parent Paul")
    comment = add_comment(
        article,
        "Cheap <b>batteries</b> at https://spam.example/deal now!",
        parent=parent,
        user=reader,
        status=PENDING,
        hold_reason="Held: a guest's first comment with a link.",
        stance_choice=poll.choices.get(label="Yes"),
        anchor="p-2",
        minutes_ago=90,
    )
    CommentReport.objects.create(
        comment=comment, reader_token="r" * 32, reason="spam", note="Selling batteries"
    )
    CommentReport.objects.create(comment=comment, reader_token="s" * 32, reason="spam")

    entry = element(moderator_client.get(QUEUE), f"#entry-{comment.pk}")

    body = element(entry, ".desk-entry__body")
    assert "Cheap <b>batteries</b> at https://spam.example/deal now!" in text(body)
    assert not elements(body, "a"), "links in a reader's text are shown, never clickable"
    assert text(element(body, ".desk-url")) == "https://spam.example/deal"
    assert text(element(entry, ".desk-entry__author")) == "reader"
    assert "account reader" in text(entry)
    assert "Voted “Yes”" in text(entry)
    assert element(entry, "time.desk-entry__when")["datetime"].startswith(
        comment.created_at.strftime("%Y-%m-%d")
    )
    assert "Held: a guest's first comment with a link." in text(entry)
    assert "Spam or advertising: 2" in text(entry)
    assert "“Selling batteries”" in text(entry)
    assert "In reply to Parent Paul: What about range in winter?" in text(entry)
    links = {link["href"] for link in elements(entry, "a[href]")}
    assert parent.get_absolute_url() in links
    assert comment.get_absolute_url() in links
    assert f"{article.get_absolute_url()}#p-2" in links
    assert reverse("admin:comments_comment_change", args=[comment.pk]) in links


def test_a_guest_entry_says_guest_and_offers_spam_instead_of_a_ban(
    moderator_client, article, add_comment
):
    comment = add_comment(article, "A guest speaks.", status=PENDING)
    entry = element(moderator_client.get(QUEUE), f"#entry-{comment.pk}")
    assert "guest" in text(element(entry, ".desk-tag"))
    assert not elements(entry, "button[value=ban]")
    assert "no one to ban" in text(entry)
    assert elements(entry, "button[value=spam]")


def test_the_authors_record_counts_their_comments_and_their_address(
    moderator_client, article, reader, make_user, add_comment
):
    for status in (APPROVED, APPROVED, REJECTED, SPAM):
        add_comment(article, "Earlier.", user=reader, status=status, minutes_ago=60 * 24 * 10)
    first = add_comment(article, "The very first.", user=reader, minutes_ago=60 * 24 * 30)
    held = add_comment(article, "Now held.", user=reader, status=PENDING, ip_hash="1" * 64)
    other = make_user("other")
    add_comment(article, "Same address, other reader.", user=other, ip_hash="1" * 64)
    add_comment(article, "Same address, today.", ip_hash="1" * 64, minutes_ago=60)
    add_comment(article, "Same address, two days ago.", ip_hash="1" * 64, minutes_ago=60 * 48)
    guest = add_comment(article, "A guest.", status=PENDING, reader_token="t" * 32, ip_hash="")

    page = moderator_client.get(QUEUE)
    record = element(page, f"#entry-{held.pk} .desk-record")
    counts = {
        text(element(pair, "dt")): int(text(element(pair, "dd")))
        for pair in elements(record, ".desk-record__counts div")
    }
    assert counts == {"Approved": 3, "Rejected": 1, "Spam": 1, "Waiting": 1}
    assert f"First comment {first.created_at:%-d %b %Y}" in text(record)
    assert "2 other comments from the same address in the last day" in text(record)
    same_address = element(record, "a[href*=same_address_as]")["href"]
    assert same_address.endswith(f"?same_address_as={held.pk}")

    guest_record = element(page, f"#entry-{guest.pk} .desk-record")
    assert "No other comment from the same address in the last day" in text(guest_record)
    assert "Waiting 1" in text(guest_record)


@pytest.mark.parametrize("role", ["moderator", "superuser"])
def test_the_queue_never_shows_emails_tokens_or_address_hashes(
    client, moderator, staff_user, article, add_comment, role
):
    add_comment(article, "Held.", status=PENDING)
    client.force_login(moderator if role == "moderator" else staff_user)
    page = client.get(QUEUE).content.decode()
    assert "Held." in page
    assert GUEST_EMAIL not in page
    assert GUEST_HASH not in page
    assert GUEST_TOKEN not in page


# --- Actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "kind", "said"),
    [
        ("approve", APPROVED, "approve", "Approved the comment by Guest Greta."),
        ("reject", REJECTED, "reject", "Rejected the comment by Guest Greta."),
        ("spam", SPAM, "spam", "Marked the comment by Guest Greta as spam."),
    ],
)
def test_each_action_in_place_with_htmx(
    moderator_client, moderator, article, add_comment, action, status, kind, said
):
    comment = add_comment(article, "Held.", status=PENDING, report_count=2)
    add_comment(article, "Another held.", status=PENDING)

    response = act(moderator_client, comment, action, htmx=True, reason="  Checked  the links. ")

    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment
    swapped = first_element(fragment)
    assert swapped["id"] == f"entry-{comment.pk}"
    assert "desk-entry--done" in swapped["class"]
    assert text(element(swapped, ".desk-notice")) == said
    tabs = element(fragment, "#desk-tabs")
    assert tabs["hx-swap-oob"] == "true"
    assert tab_counts(tabs)["Held"] == 1
    events = after_settle_events(response)
    assert events["evr:announce"] == {"message": said}
    assert events["desk:acted"] == {"entry": comment.pk}

    comment.refresh_from_db()
    assert comment.status == status
    recorded = ModerationAction.objects.get(comment=comment)
    assert (recorded.kind, recorded.actor, recorded.from_status, recorded.to_status) == (
        kind,
        moderator,
        PENDING,
        status,
    )
    assert recorded.reason == "Checked the links."


def test_without_javascript_an_action_goes_back_to_the_same_tab_and_page(
    moderator_client, article, add_comment
):
    comment = add_comment(article, "Reported.", report_count=1)
    response = act(moderator_client, comment, "approve", tab="reported", page="2")
    assert response.status_code == 302
    assert response["Location"] == f"{QUEUE}?tab=reported&page=2"
    page = moderator_client.get(response["Location"])
    assert "Kept the comment by Guest Greta and cleared its reports." in text(
        element(page, ".messagelist")
    )
    comment.refresh_from_db()
    assert (comment.status, comment.report_count) == (APPROVED, 0)


@pytest.mark.parametrize("htmx", [True, False])
def test_banning_an_account_rejects_the_comment_and_records_the_note(
    moderator_client, moderator, article, reader, add_comment, htmx
):
    comment = add_comment(article, "Abuse.", user=reader, status=PENDING)
    response = act(moderator_client, comment, "ban", htmx=htmx, reason="Repeated abuse")
    assert response.status_code == (200 if htmx else 302)
    control = ReaderControl.objects.get(user=reader)
    assert control.is_banned
    assert control.note == "Repeated abuse"
    comment.refresh_from_db()
    assert comment.status == REJECTED
    recorded = ModerationAction.objects.get(comment=comment)
    assert (recorded.kind, recorded.actor, recorded.reason) == ("ban", moderator, "Repeated abuse")
    with pytest.raises(Refused):
        services.comment_submit(article=article, reader=Reader(user=reader), body="Again.")


@pytest.mark.parametrize("htmx", [True, False])
def test_a_guest_cannot_be_banned_and_is_told_why(moderator_client, article, add_comment, htmx):
    comment = add_comment(article, "A guest.", status=PENDING)
    response = act(moderator_client, comment, "ban", htmx=htmx, reason="Please keep this")
    assert response.status_code == 409
    if htmx:
        assert response["HX-Retarget"] == f"#entry-{comment.pk}-notice"
        assert "no account to ban" in response.content.decode()
    else:
        page = response.content.decode()
        assert "no account to ban" in text(element(page, ".messagelist"))
        assert element(page, f"#note-{comment.pk}")["value"] == "Please keep this"
    comment.refresh_from_db()
    assert comment.status == PENDING
    assert not ModerationAction.objects.exists()


def bulk(client, comments, action, *, htmx=False, **fields):
    data = {
        "bulk": "1",
        "comment": [comment.pk for comment in comments],
        "action": action,
        "tab": "held",
        **fields,
    }
    return client.post(QUEUE, data, headers=HTMX_HEADERS if htmx else {})


@pytest.mark.parametrize("htmx", [True, False])
def test_bulk_actions_on_the_ticked_comments(
    moderator_client, moderator, article, add_comment, htmx
):
    ticked = [add_comment(article, f"Held {n}.", status=PENDING) for n in range(3)]
    left = add_comment(article, "Not ticked.", status=PENDING)

    response = bulk(moderator_client, ticked, "reject", htmx=htmx, reason="Off topic")

    if htmx:
        assert response.status_code == 200
        fragment = response.content.decode()
        assert first_element(fragment)["id"] == "desk-queue"
        assert entry_ids(fragment) == [left.pk]
        assert after_settle_events(response)["evr:announce"] == {
            "message": "Rejected 3 comments.",
            "focus": "#desk-queue-heading",
        }
    else:
        assert response.status_code == 302
        page = moderator_client.get(response["Location"])
        assert "Rejected 3 comments." in text(element(page, ".messagelist"))
    assert set(Comment.objects.filter(status=REJECTED).values_list("pk", flat=True)) == {
        comment.pk for comment in ticked
    }
    recorded = ModerationAction.objects.filter(kind="reject", actor=moderator, reason="Off topic")
    assert sorted(recorded.values_list("comment_id", flat=True)) == [c.pk for c in ticked]
    left.refresh_from_db()
    assert left.status == PENDING


def test_bulk_ban_bans_the_accounts_and_warns_about_guests(
    moderator_client, article, reader, add_comment
):
    by_account = add_comment(article, "By an account.", user=reader, status=PENDING)
    by_guest = add_comment(article, "By a guest.", status=PENDING)
    response = bulk(moderator_client, [by_account, by_guest], "ban")
    page = text(element(moderator_client.get(response["Location"]), ".messagelist"))
    assert "Banned 1 reader and rejected their comments." in page
    assert "1 selected comment is by a guest, who has no account to ban" in page
    assert ReaderControl.objects.get(user=reader).is_banned
    assert Comment.objects.get(pk=by_account.pk).status == REJECTED
    assert Comment.objects.get(pk=by_guest.pk).status == PENDING


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"bulk": "1", "action": "approve"}, 422, "Select at least one comment first."),
        ({"comment": "abc", "action": "approve"}, 422, "That is not a comment of the queue."),
        ({"comment": "9" * 30, "action": "approve"}, 422, "That is not a comment of the queue."),
        ({"comment": "{held}", "action": "delete"}, 422, "Choose approve, reject, spam or ban."),
        ({"comment": "{held}"}, 422, "Choose what to do with the selected comments."),
        ({"comment": "{held}", "action": "reject", "reason": "x" * 301}, 422, "at most 300"),
        ({"comment": "999999", "action": "approve"}, 404, "no longer exists"),
    ],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    moderator_client, article, add_comment, data, status, message, htmx
):
    held = add_comment(article, "Held.", status=PENDING)
    data = {name: value.format(held=held.pk) for name, value in data.items()}
    response = moderator_client.post(QUEUE, data, headers=HTMX_HEADERS if htmx else {})
    assert response.status_code == status
    assert message in response.content.decode()
    if not htmx:
        assert message in text(element(response, ".messagelist"))
        if "reason" in data:
            assert element(response, f"#note-{held.pk}")["value"] == data["reason"]
    held.refresh_from_db()
    assert held.status == PENDING
    assert not ModerationAction.objects.exists()


def test_the_queue_answers_only_get_and_post(moderator_client):
    assert moderator_client.put(QUEUE).status_code == 405


def test_moderating_from_the_desk_moves_the_discussion_on_for_readers(
    moderator_client, make_client, article, add_comment
):
    comment = add_comment(article, "Soon rejected words.")
    reader = make_client()
    assert "Soon rejected words." in reader.get(article.get_absolute_url()).content.decode()
    before = versions(DISCUSSION)
    act(moderator_client, comment, "reject", htmx=True)
    assert versions(DISCUSSION) != before
    assert "Soon rejected words." not in reader.get(article.get_absolute_url()).content.decode()


# --- History -------------------------------------------------------------------------------------


def test_every_way_of_moderating_leaves_a_history_on_the_comment_page(
    moderator_client, moderator, article, reader, add_comment
):
    comment = add_comment(article, "Held.", user=reader, status=PENDING)
    act(moderator_client, comment, "spam", reason="Looks automated")
    moderator_client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "approve", "_selected_action": [comment.pk]},
    )
    moderator_client.post(
        reverse("admin:comments_comment_changelist"),
        {"action": "ban_authors", "_selected_action": [comment.pk]},
    )
    change_url = reverse("admin:comments_comment_change", args=[comment.pk])
    moderator_client.post(
        change_url,
        {
            "status": "rejected",
            "hold_reason": "",
            "reports-TOTAL_FORMS": "0",
            "reports-INITIAL_FORMS": "0",
        },
    )

    history = list(
        ModerationAction.objects.filter(comment=comment)
        .order_by("created_at", "pk")
        .values_list("kind", "from_status", "to_status", "actor__username")
    )
    assert history == [
        ("spam", PENDING, SPAM, "moderator"),
        ("approve", SPAM, APPROVED, "moderator"),
        ("ban", APPROVED, APPROVED, "moderator"),
        ("reject", APPROVED, REJECTED, "moderator"),
    ]
    page = moderator_client.get(change_url)
    shown = [text(item) for item in elements(page, ".moderation-history li")]
    assert len(shown) == 4
    assert shown[0].endswith("moderator rejected it (Approved → Rejected)")
    assert shown[1].endswith("moderator banned the author")
    assert shown[-1].endswith(
        "moderator marked it as spam (Pending → Spam). Note: “Looks automated”"
    )


def test_a_comment_nobody_moderated_says_so(moderator_client, article, add_comment):
    comment = add_comment(article)
    page = moderator_client.get(reverse("admin:comments_comment_change", args=[comment.pk]))
    assert "No moderator has acted on this comment yet." in page.content.decode()


# --- Permissions -------------------------------------------------------------------------------


def test_moderators_and_superusers_get_the_actions(
    client, moderator, staff_user, article, add_comment
):
    add_comment(article, "Held.", status=PENDING)
    for user in (moderator, staff_user):
        client.force_login(user)
        page = client.get(QUEUE)
        assert page.status_code == 200
        assert elements(page, "form.desk-actions button[value=approve]")
        assert elements(page, "#desk-bulk")


def test_staff_who_only_view_comments_read_the_queue_without_actions(
    client, viewer, article, add_comment
):
    comment = add_comment(article, "Held.", status=PENDING)
    client.force_login(viewer)
    page = client.get(QUEUE)
    assert page.status_code == 200
    assert entry_ids(page) == [comment.pk]
    assert not elements(page, "form.desk-actions, #desk-bulk, input[type=checkbox]")
    for htmx in (False, True):
        assert act(client, comment, "approve", htmx=htmx).status_code == 403
    comment.refresh_from_db()
    assert comment.status == PENDING


@pytest.mark.parametrize("who", ["editor", "staff"])
def test_editors_and_other_staff_are_kept_out_of_the_queue(
    client, editor, make_user, article, add_comment, who
):
    comment = add_comment(article, "Held.", status=PENDING)
    client.force_login(editor if who == "editor" else make_user("staff", is_staff=True))
    assert client.get(QUEUE).status_code == 403
    assert act(client, comment, "approve").status_code == 403
    assert act(client, comment, "approve", htmx=True).status_code == 403
    comment.refresh_from_db()
    assert comment.status == PENDING


def test_readers_are_sent_to_log_in(client, reader, article, add_comment):
    comment = add_comment(article, "Held.", status=PENDING)
    assert client.get(QUEUE).status_code == 302
    client.force_login(reader)
    assert act(client, comment, "approve").status_code == 302
    comment.refresh_from_db()
    assert comment.status == PENDING


def test_moderators_without_the_reader_control_permission_cannot_ban(
    client, make_user, article, reader, add_comment
):
    comment = add_comment(article, "Held.", user=reader, status=PENDING)
    user = make_user("junior", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_comment", "change_comment"])
    )
    client.force_login(user)
    assert not elements(client.get(QUEUE), "button[value=ban]")
    assert act(client, comment, "ban").status_code == 403
    assert not ReaderControl.objects.filter(user=reader).exists()


# --- Query budget ------------------------------------------------------------------------------


def fill_queue(article, add_comment, make_user, poll, count, *, prefix):
    users = [make_user(f"{prefix}-{number}") for number in range(4)]
    parent = add_comment(article, "A parent.")
    for number in range(count):
        comment = add_comment(
            article,
            f"Comment {number} see https://example.com/{number}",
            user=users[number % 5] if number % 5 < 4 else None,
            reader_token="" if number % 5 < 4 else f"{prefix}-guest-{number}",
            status=[PENDING, SPAM, APPROVED][number % 3],
            parent=parent if number % 2 else None,
            stance_choice=poll.choices.first(),
            ip_hash=f"{number % 7}" * 64,
            report_count=number % 4,
        )
        CommentReport.objects.create(
            comment=comment, reader_token=f"{prefix}-r-{number}", reason="abuse", note="Rude"
        )


QUEUE_PAGE_QUERIES = 10


@pytest.mark.parametrize("tab", ["held", "reported", "recent"])
def test_a_page_of_the_queue_costs_the_same_queries_with_few_or_many_comments(
    moderator_client,
    make_article,
    make_user,
    make_poll,
    add_comment,
    django_assert_max_num_queries,
    tab,
):
    few_article = make_article()
    fill_queue(few_article, add_comment, make_user, make_poll(article=few_article), 10, prefix="f")
    with django_assert_max_num_queries(QUEUE_PAGE_QUERIES) as few:
        assert moderator_client.get(QUEUE, {"tab": tab}).status_code == 200

    many_article = make_article()
    fill_queue(
        many_article, add_comment, make_user, make_poll(article=many_article), 150, prefix="m"
    )
    with django_assert_max_num_queries(QUEUE_PAGE_QUERIES) as many:
        page = moderator_client.get(QUEUE, {"tab": tab, "page": 2})
    assert len(entry_ids(page)) == desk.QUEUE_PAGE_SIZE
    assert len(many) == len(few)


# --- The reader's view of a removed comment ---------------------------------------------------


def test_the_author_sees_their_rejected_comment_as_removed_without_the_reason(
    client, make_client, article, reader, add_comment
):
    removed = add_comment(
        article, "My removed words.", user=reader, status=REJECTED, hold_reason="Insults"
    )
    client.force_login(reader)
    page = client.get(article.get_absolute_url())
    comment = element(page, f"#c-{removed.pk}")
    assert text(element(comment, ".comment__status")) == "Removed"
    assert "A moderator removed this comment. Only you can see it." in text(comment)
    assert "Insults" not in page.content.decode()

    other = make_client().get(article.get_absolute_url()).content.decode()
    assert "My removed words." not in other


# --- Dashboard -----------------------------------------------------------------------------------


def test_the_dashboard_counts_and_charts_the_discussion(
    client, moderator, article, poll, add_comment, add_votes
):
    add_comment(article, "Held now.", status=PENDING)
    add_comment(article, "Spam now.", status=SPAM)
    add_comment(article, "Reported now.", report_count=2)
    add_comment(article, "Three hours ago.", minutes_ago=180)
    add_comment(article, "Three days ago.", minutes_ago=60 * 72)
    add_votes(poll, 2, 1)
    add_votes(poll, 4, created_at=timezone.now() - timedelta(days=2))
    now = timezone.now()
    today = desk.start_of_today(now)
    expected_today = Comment.objects.filter(created_at__gte=today).count()

    client.force_login(moderator)
    page = client.get(INDEX)

    assert text(element(page, "#dashboard-held")) == "2"
    assert text(element(page, "#dashboard-reported")) == "1"
    assert text(element(page, "#dashboard-comments-today")) == str(expected_today)
    assert text(element(page, "#dashboard-votes-today")) == "3"
    assert element(page, ".desk-dashboard__queue a")["href"] == QUEUE

    chart = element(page, "svg.desk-chart__svg")
    assert chart["role"] == "img"
    for label_id in chart["aria-labelledby"].split():
        assert elements(chart, f"#{label_id}")
    assert "4 comments in all" in text(element(chart, "desc"))
    rows = elements(page, ".desk-chart__table tbody tr")
    assert len(rows) == desk.CHART_HOURS
    counts = [int(text(element(row, "td"))) for row in rows]
    assert counts[-1] == 3
    assert counts[-4] == 1
    assert sum(counts) == 4
    assert len(elements(chart, "rect.desk-chart__bar")) == 2


def test_editors_see_the_numbers_but_no_way_into_the_queue(client, editor, article, add_comment):
    add_comment(article, "Held.", status=PENDING)
    client.force_login(editor)
    page = client.get(INDEX)
    assert text(element(page, "#dashboard-held")) == "1"
    assert not elements(page, f"a[href='{QUEUE}']")
    assert not elements(page, "#desk-bulk, form.desk-actions")


def test_staff_in_neither_group_see_no_discussion_numbers(client, make_user, article, add_comment):
    add_comment(article, "Held.", status=PENDING)
    client.force_login(make_user("intern", is_staff=True))
    page = client.get(INDEX)
    assert page.status_code == 200
    assert not elements(page, ".desk-dashboard, #dashboard-held")


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_the_hourly_series_fills_empty_hours_and_scales_the_bars(
    article, add_comment, settings, zone
):
    settings.TIME_ZONE = zone
    for _ in range(4):
        add_comment(article, minutes_ago=0)
    add_comment(article, minutes_ago=120)
    now = timezone.now()
    hours = desk.hourly_comments(now=now)
    assert len(hours) == desk.CHART_HOURS
    assert [hour.count for hour in hours][-3:] == [1, 0, 4]
    assert hours[-1].height == desk.CHART_HEIGHT
    assert hours[-3].height == desk.CHART_HEIGHT / 4
    assert all(hour.height == 0 for hour in hours[:-3])
    assert hours[-1].start <= now < hours[-1].end


def test_desk_text_escapes_and_never_links():
    html = desk.desk_text("<script>x</script>\n\nSee www.example.com/a?b=1&c=2 please")
    assert html == (
        "<p>&lt;script&gt;x&lt;/script&gt;</p>"
        '<p>See <span class="desk-url">www.example.com/a?b=1&amp;c=2</span> please</p>'
    )


def test_spam_the_site_caught_waits_in_held_until_a_moderator_confirms_it(
    moderator_client, article, add_comment
):
    caught = add_comment(article, "Caught by the honeypot.", status=SPAM)
    assert entry_ids(moderator_client.get(QUEUE)) == [caught.pk]
    act(moderator_client, caught, "spam")
    page = moderator_client.get(QUEUE)
    assert entry_ids(page) == []
    assert tab_counts(page)["Held"] == 0
    assert "Nothing waiting here" in text(element(page, ".desk-empty"))
