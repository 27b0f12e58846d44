"""Accounts under attack and a reader's own data: sign-in and sign-up throttles (the readers'
log-in page and the admin's), the data download, and closing an account."""

import json

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.urls import reverse

from comments import ratelimit
from comments.accounts import services
from comments.accounts.forms import SignupForm
from comments.models import Comment, CommentReport, HelpfulMark, PollChoice, Vote
from comments.readers import Reader
from comments.services import comment_report, helpful_toggle
from tests.conftest import ReaderClient, element, elements, text


@pytest.fixture(autouse=True)
def _rate_limit_windows_stand_still(clock):
    """Limits count in fixed windows: a test must not straddle the end of one."""


PASSWORD = "a-long-Passw0rd!"
LOCKED = "Too many failed sign-in attempts"
WRONG_LOGIN = "Please enter a correct username and password"
ADMIN_LOGIN = "/admin/login/"


def log_in(client, username="reader", password=PASSWORD, url=None):
    return client.post(url or reverse("login"), {"username": username, "password": password})


def signed_in(client):
    return SESSION_KEY in client.session


def assert_locked(response):
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    assert LOCKED in response.content.decode()


class FakeClock:
    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The limiter's and the locks' time, stopped 5 seconds into an hour (and so into a
    15-minute window): no test's attempts fall into two windows."""
    fake = FakeClock(1_800_000_000 - 1_800_000_000 % 3600 + 5)
    monkeypatch.setattr(ratelimit, "time", fake)
    monkeypatch.setattr(services, "time", fake)
    return fake


# Signing in: failures per account


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, reader):
    for _ in range(5):  # the allowance: five failures in 15 minutes are answered as usual
        wrong = log_in(client, password="guess")
        assert wrong.status_code == 200
        assert WRONG_LOGIN in wrong.content.decode()

    sixth = log_in(client, password="guess")
    assert_locked(sixth)
    assert element(sixth, 'input[name="username"]')["value"] == "reader"  # kept as typed
    assert text(element(sixth, '.form-errors[role="alert"]')).startswith(LOCKED)
    assert "wait 15 minutes, then try again" in text(element(sixth, ".form-errors"))

    right = log_in(client)
    assert_locked(right)
    assert not signed_in(client)


def test_a_successful_sign_in_uses_none_of_the_allowance(client, reader):
    for _ in range(8):
        assert log_in(client).status_code == 302
        client.post(reverse("logout"))
    for _ in range(5):
        assert log_in(client, password="guess").status_code == 200
    assert log_in(client).status_code == 302  # five failures are allowed, then the right one
    assert signed_in(client)


def test_the_account_stays_locked_from_another_address_and_in_another_case(make_client, make_user):
    make_user("Reader")
    attacker = make_client(address="198.51.100.7")
    for _ in range(5):
        assert log_in(attacker, "Reader", "guess").status_code == 200
    assert_locked(log_in(attacker, "Reader", "guess"))

    elsewhere = make_client(address="203.0.113.9")
    assert_locked(log_in(elsewhere, "Reader"))
    assert_locked(log_in(elsewhere, "reader "))  # the same account name, normalised
    assert not signed_in(elsewhere)
    # Another account from the attacker's address is still open.
    make_user("someone-else")
    assert log_in(attacker, "someone-else").status_code == 302


def test_the_lock_ends_with_its_window(client, reader, clock):
    for _ in range(6):
        log_in(client, password="guess")
    locked = log_in(client)
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 900 - 5

    clock.now += 900 - 5
    assert log_in(client).status_code == 302


class CacheDown:
    def get_many(self, keys):
        raise OSError("the shared cache cannot answer")

    def set(self, *args, **kwargs):
        raise OSError("the shared cache cannot answer")


def test_the_lock_holds_in_this_worker_when_the_cache_cannot_keep_it(client, reader, monkeypatch):
    monkeypatch.setattr(services, "cache", CacheDown())
    monkeypatch.setattr(services, "_local_locks", {})
    for _ in range(5):
        assert log_in(client, password="guess").status_code == 200
    assert_locked(log_in(client, password="guess"))
    assert_locked(log_in(client))
    assert not signed_in(client)


def test_limits_come_from_settings(client, reader, settings):
    settings.EVR_LOGIN_FAILURES_PER_ACCOUNT = 2
    assert log_in(client, password="guess").status_code == 200
    assert log_in(client, password="guess").status_code == 200
    assert_locked(log_in(client, password="guess"))

    settings.EVR_LOGIN_FAILURES_PER_ACCOUNT = 0  # no limit per account
    settings.EVR_LOGIN_FAILURES_PER_IP = 0
    assert log_in(client).status_code == 302


def test_empty_fields_are_not_failures(client, reader):
    for _ in range(10):
        response = client.post(reverse("login"), {"username": "reader", "password": ""})
        assert response.status_code == 200
    assert log_in(client).status_code == 302


# Signing in: failures per address


def test_one_address_trying_many_accounts_is_locked(make_client, reader):
    attacker = make_client(address="198.51.100.7")
    for number in range(20):  # four names, five failures each: no account goes over
        assert log_in(attacker, f"name-{number % 4}", "guess").status_code == 200
    assert_locked(log_in(attacker, "name-9", "guess"))
    assert_locked(log_in(attacker))  # a real account, the right password, the same address
    assert not signed_in(attacker)

    assert log_in(make_client(address="203.0.113.9")).status_code == 302


# The admin's sign-in


def test_admin_sign_in_is_throttled_in_the_admins_look(client, staff_user):
    username = staff_user.get_username()
    page = client.get(ADMIN_LOGIN)
    assert page.status_code == 200
    assert elements(page, "#login-form")

    for _ in range(5):
        wrong = log_in(client, username, "guess", url=ADMIN_LOGIN)
        assert wrong.status_code == 200
        assert "for a staff account" in wrong.content.decode()
    locked = log_in(client, username, "guess", url=ADMIN_LOGIN)
    assert_locked(locked)
    assert elements(locked, "#login-form")  # still the admin's own page
    assert LOCKED in text(element(locked, "p.errornote"))
    assert element(locked, 'input[name="username"]')["value"] == username

    assert_locked(log_in(client, username, url=ADMIN_LOGIN))
    assert not signed_in(client)
    assert_locked(log_in(client, username))  # the readers' page counts the same failures


def test_admin_sign_in_still_works(client, staff_user):
    response = log_in(client, staff_user.get_username(), url=ADMIN_LOGIN)
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


# Signing up


def sign_up(client, username, password=PASSWORD, password2=None):
    return client.post(
        reverse("signup"),
        {"username": username, "password1": password, "password2": password2 or password},
    )


def test_one_address_signs_up_five_accounts_an_hour(make_client):
    for number in range(5):
        browser = make_client(address="198.51.100.7")
        assert sign_up(browser, f"new-{number}").status_code == 302

    refused = sign_up(make_client(address="198.51.100.7"), "new-5")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert "Too many sign-ups" in text(element(refused, '.form-errors[role="alert"]'))
    assert element(refused, 'input[name="username"]')["value"] == "new-5"
    assert not get_user_model().objects.filter(username="new-5").exists()

    assert sign_up(make_client(address="203.0.113.9"), "new-5").status_code == 302


def test_asking_whether_usernames_exist_is_limited(make_client, reader):
    browser = make_client(address="198.51.100.7")
    for _ in range(5):
        taken = sign_up(browser, "reader")
        assert taken.status_code == 422
        assert "A user with that username already exists." in taken.content.decode()

    refused = sign_up(browser, "reader")
    assert refused.status_code == 429
    assert "already exists" not in refused.content.decode()  # nothing said about the name
    assert "Too many sign-ups" in refused.content.decode()


def test_typing_mistakes_on_sign_up_are_not_counted(make_client):
    browser = make_client(address="198.51.100.7")
    for _ in range(10):
        assert sign_up(browser, "new-reader", password2="different").status_code == 422
    assert sign_up(browser, "new-reader").status_code == 302


def test_a_name_taken_meanwhile_gets_the_form_back_not_an_error(client, db, monkeypatch):
    save = SignupForm.save

    def taken_meanwhile(form, *args, **kwargs):
        get_user_model().objects.create_user(username="new-reader", password=PASSWORD)
        return save(form, *args, **kwargs)

    monkeypatch.setattr(SignupForm, "save", taken_meanwhile)
    response = sign_up(client, "new-reader")
    assert response.status_code == 422
    assert "A user with that username already exists." in response.content.decode()
    assert not signed_in(client)


def test_a_username_that_shows_nothing_is_refused_with_a_reason(client, db):
    response = sign_up(client, "\u3164\u3164")
    assert response.status_code == 422
    assert "Choose a username that shows" in response.content.decode()
    assert not get_user_model().objects.exists()


def test_a_next_address_that_is_a_bare_word_is_followed_not_an_error(client, db):
    response = client.post(
        reverse("signup"),
        {"username": "new-reader", "password1": PASSWORD, "password2": PASSWORD, "next": "x"},
    )
    assert response.status_code == 302
    assert response["Location"] == "x"
    assert client.get(reverse("signup"), {"next": "comments"}).status_code == 302


# A reader's own data


@pytest.fixture
def activity(article, make_poll, reader, make_user, add_comment, add_vote):
    """The reader's comments, vote, helpful mark and report, and another reader's."""
    other = make_user("other-reader")
    poll = make_poll(article=article, question="Would you buy one?")
    yes = poll.choices.get(label="Yes")
    mine = add_comment(article, "Small EVs make sense.", user=reader)
    reply = add_comment(article, "Agreed.", parent=mine, user=reader)
    theirs = add_comment(article, "Not for me.", user=other)
    add_vote(yes, user=reader)
    add_vote(yes, user=other)
    helpful_toggle(comment=theirs, reader=Reader(user=reader))
    helpful_toggle(comment=mine, reader=Reader(user=other))
    comment_report(comment=theirs, reader=Reader(user=reader, ip_hash="a" * 64), reason="spam")
    return {"poll": poll, "yes": yes, "mine": mine, "reply": reply, "theirs": theirs}


def test_the_data_page_offers_the_download(client, reader, activity):
    assert client.get(reverse("account_data")).status_code == 302  # signed-in readers only
    client.force_login(reader)
    page = client.get(reverse("account_data"))
    assert page.status_code == 200
    assert text(element(page, "h1")) == "Your data"
    assert element(page, f'a[href="{reverse("account_data_download")}"]')
    assert element(page, f'a[href="{reverse("account_delete")}"]')
    assert "2 comments" in text(element(page, "main"))
    # Every page links to it from the account navigation.
    nav = element(client.get(activity["mine"].article.get_absolute_url()), ".account-nav")
    assert nav.find("a", href=reverse("account_data"))


def test_the_download_holds_the_readers_own_data(client, reader, activity):
    client.force_login(reader)
    response = client.get(reverse("account_data_download"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["account"]["username"] == "reader"
    comments = data["comments"]
    assert [comment["text"] for comment in comments] == ["Small EVs make sense.", "Agreed."]
    first = comments[0]
    assert first["article"] == "A test article"
    assert first["status"] == "approved"
    assert first["created_at"] and first["edited_at"] is None
    assert comments[1]["in_reply_to"] == activity["mine"].pk
    assert data["poll_votes"] == [
        {
            "article": "A test article",
            "question": "Would you buy one?",
            "choice": "Yes",
            "created_at": data["poll_votes"][0]["created_at"],
            "changed_at": None,
        }
    ]
    assert [mark["comment_id"] for mark in data["helpful_marks"]] == [activity["theirs"].pk]
    assert [(report["comment_id"], report["reason"]) for report in data["reports"]] == [
        (activity["theirs"].pk, "spam")
    ]
    assert "Not for me." not in response.content.decode()  # nobody else's words


def test_the_download_needs_a_signed_in_reader(client, db):
    response = client.get(reverse("account_data_download"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Closing an account


def test_get_shows_the_confirmation_and_deletes_nothing(client, reader, activity):
    client.force_login(reader)
    page = client.get(reverse("account_delete"))
    assert page.status_code == 200
    assert text(element(page, "h1")) == "Delete your account?"
    form = element(page, "form.account-form")
    assert form["method"] == "post"
    assert element(form, 'input[name="password"][type="password"]')
    assert elements(form, 'input[name="csrfmiddlewaretoken"]')
    assert get_user_model().objects.filter(pk=reader.pk).exists()
    assert signed_in(client)


def test_a_wrong_password_deletes_nothing(client, reader, activity):
    client.force_login(reader)
    response = client.post(reverse("account_delete"), {"password": "not-it"})
    assert response.status_code == 422
    assert "That is not your password. Nothing was deleted." in response.content.decode()
    assert get_user_model().objects.filter(pk=reader.pk).exists()
    assert Comment.objects.filter(user=reader).count() == 2
    assert signed_in(client)

    empty = client.post(reverse("account_delete"), {})
    assert empty.status_code == 422
    assert get_user_model().objects.filter(pk=reader.pk).exists()


def test_guessing_the_password_on_the_delete_page_is_throttled(client, reader, activity):
    client.force_login(reader)
    for _ in range(5):
        assert client.post(reverse("account_delete"), {"password": "guess"}).status_code == 422
    assert_locked(client.post(reverse("account_delete"), {"password": "guess"}))
    assert_locked(client.post(reverse("account_delete"), {"password": PASSWORD}))
    assert get_user_model().objects.filter(pk=reader.pk).exists()


def test_deleting_the_account_keeps_comments_votes_and_marks_by_no_one(
    client, make_client, reader, activity
):
    mine, reply, theirs, poll = (
        activity["mine"],
        activity["reply"],
        activity["theirs"],
        activity["poll"],
    )
    article_url = mine.article.get_absolute_url()
    anonymous = make_client()
    assert "Small EVs make sense." in anonymous.get(article_url).content.decode()  # cached now
    counts_before = dict(PollChoice.objects.filter(poll=poll).values_list("pk", "vote_count"))
    helpful_before = dict(Comment.objects.values_list("pk", "helpful_count"))
    reports_before = dict(Comment.objects.values_list("pk", "report_count"))
    client.force_login(reader)

    response = client.post(reverse("account_delete"), {"password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not get_user_model().objects.filter(pk=reader.pk).exists()
    assert not signed_in(client)
    assert client.get(reverse("account_data")).status_code == 302  # signed out

    mine.refresh_from_db()
    reply.refresh_from_db()
    assert (mine.author_name, mine.user_id) == ("Deleted reader", None)
    assert (reply.author_name, reply.user_id) == ("Deleted reader", None)
    token = mine.reader_token
    assert token.startswith("deleted-") and len(token) > len("deleted-")
    assert reply.reader_token == token

    votes = Vote.objects.filter(poll=poll)
    assert votes.count() == 2
    assert votes.filter(user__isnull=True, reader_token=token).count() == 1
    assert dict(PollChoice.objects.filter(poll=poll).values_list("pk", "vote_count")) == (
        counts_before
    )
    assert dict(Comment.objects.values_list("pk", "helpful_count")) == helpful_before
    assert dict(Comment.objects.values_list("pk", "report_count")) == reports_before
    assert HelpfulMark.objects.get(comment=theirs).reader_token == token
    assert HelpfulMark.objects.filter(comment=mine, user__username="other-reader").exists()
    assert CommentReport.objects.get(comment=theirs).reader_token == token

    # The cached article page shows the change at once, and never the account name.
    page = anonymous.get(article_url)
    authors = [text(author) for author in elements(page, ".comment__author")]
    assert authors.count("Deleted reader") == 2
    assert "reader" not in authors
    # A deleted reader's comments are not labelled as a guest's.
    assert not elements(page, f"#c-{mine.pk} .comment__tag")
    assert "Small EVs make sense." in page.content.decode()

    told = client.get("/")
    assert "Your account was deleted." in told.content.decode()


def test_a_new_account_may_take_the_old_name(client, make_client, reader, activity):
    client.force_login(reader)
    client.post(reverse("account_delete"), {"password": PASSWORD})
    assert sign_up(make_client(), "reader").status_code == 302
    newcomer = get_user_model().objects.get(username="reader")
    assert not Comment.objects.filter(user=newcomer).exists()
    assert not Vote.objects.filter(user=newcomer).exists()


def test_deleting_takes_a_post_with_a_csrf_token(reader, activity):
    browser = ReaderClient(enforce_csrf_checks=True)
    browser.force_login(reader)
    response = browser.post(reverse("account_delete"), {"password": PASSWORD})
    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=reader.pk).exists()

    anonymous = ReaderClient()
    response = anonymous.post(reverse("account_delete"), {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_staff_accounts_are_closed_by_an_administrator(client, staff_user):
    client.force_login(staff_user)
    page = client.get(reverse("account_delete"))
    assert page.status_code == 403
    assert "ask an administrator" in page.content.decode()
    response = client.post(reverse("account_delete"), {"password": PASSWORD})
    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=staff_user.pk).exists()
