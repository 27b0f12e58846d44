"""A signed-in reader's address for reply emails: given at sign-up or on their data page, and
the comment form offers "Email me when someone replies" only when there is one to email."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from comments.accounts.forms import INVALID_EMAIL
from comments.accounts.views import EMAIL_REMOVED, EMAIL_SAVED
from comments.models import Comment
from comments.readers import Reader
from evsite.caching import versions
from tests.conftest import element, elements, post_comment, text

PASSWORD = "a-long-Passw0rd!"


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.EVR_EMAIL_IN_BACKGROUND = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def sign_up(client, **fields):
    data = {"username": "new-reader", "password1": PASSWORD, "password2": PASSWORD, **fields}
    return client.post(reverse("signup"), data)


def save_email(client, email, **fields):
    return client.post(reverse("account_email"), {"email": email, **fields})


def notify_checkbox(html, form="#comment-form"):
    return elements(html, f'{form} input[type="checkbox"][name="notify_replies"]')


# --- Sign-up ---------------------------------------------------------------------------------


def test_sign_up_offers_an_optional_email_and_keeps_it(client, db):
    page = client.get(reverse("signup"))
    field = element(page, 'input[type="email"][name="email"]')
    assert not field.has_attr("required")
    assert "optional" in text(element(page, f'label[for="{field["id"]}"]')).lower()

    response = sign_up(client, email="  New.Reader@Example.COM ")

    assert response.status_code == 302
    # The domain is not case-sensitive: it is kept in lower case, as Django's own accounts do.
    assert get_user_model().objects.get().email == "New.Reader@example.com"


def test_sign_up_without_an_email_still_works(client, db):
    assert sign_up(client).status_code == 302
    assert get_user_model().objects.get().email == ""


def test_a_bad_email_at_sign_up_is_explained_and_what_was_typed_is_kept(client, db):
    response = sign_up(client, email="not-an-address")

    assert response.status_code == 422
    assert INVALID_EMAIL in text(element(response, "#id_email_error"))
    assert element(response, 'input[name="email"]')["value"] == "not-an-address"
    assert element(response, 'input[name="username"]')["value"] == "new-reader"
    assert not get_user_model().objects.exists()


def test_sign_up_does_not_tell_whether_an_address_is_used(client, make_client, make_user, db):
    make_user("someone", email="shared@example.com")

    taken = sign_up(client, email="shared@example.com")
    fresh = sign_up(make_client(), username="another-reader", email="fresh@example.com")

    assert taken.status_code == fresh.status_code == 302
    assert get_user_model().objects.filter(email__iexact="shared@example.com").count() == 2


# --- The data page ---------------------------------------------------------------------------


def test_the_data_page_has_a_form_for_the_reply_email(client, reader):
    client.force_login(reader)
    page = client.get(reverse("account_data"))

    section = element(page, "#reply-email")
    assert "Email for reply notifications" in text(element(section, "h2"))
    form = element(section, "form")
    assert (form["method"], form["action"]) == ("post", reverse("account_email"))
    assert element(form, '[name="csrfmiddlewaretoken"]')
    field = element(form, 'input[type="email"][name="email"]')
    assert element(form, f'label[for="{field["id"]}"]')
    assert "no email address" in text(section)


def test_a_reader_adds_an_email_without_javascript(client, reader):
    client.force_login(reader)

    response = save_email(client, "reader@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_data")
    reader.refresh_from_db()
    assert reader.email == "reader@example.com"
    page = client.get(response["Location"])
    assert EMAIL_SAVED.format(email="reader@example.com") in text(element(page, ".messages"))
    assert element(page, '#reply-email input[name="email"]')["value"] == "reader@example.com"
    assert "reader@example.com" in text(element(page, "#reply-email p"))


def test_after_adding_an_email_the_reader_goes_back_to_the_article(client, reader, article):
    client.force_login(reader)
    article_url = article.get_absolute_url()

    response = save_email(client, "reader@example.com", next=article_url)
    assert response["Location"] == article_url

    offsite = save_email(client, "reader@example.com", next="https://evil.example/")
    assert offsite["Location"] == reverse("account_data")


def test_a_bad_email_is_explained_and_kept_and_nothing_changes(client, make_user):
    reader = make_user("reader", email="old@example.com")
    client.force_login(reader)

    response = save_email(client, "not@an@address")

    assert response.status_code == 422
    field = element(response, '#reply-email input[name="email"]')
    assert field["value"] == "not@an@address"
    assert field["aria-invalid"] == "true"
    assert INVALID_EMAIL in text(element(response, "#reply-email .errorlist"))
    reader.refresh_from_db()
    assert reader.email == "old@example.com"


def test_clearing_the_email_stops_reply_emails(client, make_user):
    reader = make_user("reader", email="old@example.com")
    client.force_login(reader)

    response = save_email(client, "")

    reader.refresh_from_db()
    assert reader.email == ""
    page = client.get(response["Location"])
    assert EMAIL_REMOVED in text(element(page, ".messages"))


def test_changing_the_email_takes_a_post_with_the_csrf_token(make_client, reader):
    browser = make_client(enforce_csrf_checks=True)
    browser.force_login(reader)
    page = browser.get(reverse("account_data"))
    token = element(page, '#reply-email [name="csrfmiddlewaretoken"]')["value"]

    assert save_email(browser, "reader@example.com").status_code == 403
    assert browser.get(reverse("account_email")).status_code == 405
    reader.refresh_from_db()
    assert reader.email == ""

    assert save_email(browser, "reader@example.com", csrfmiddlewaretoken=token).status_code == 302
    reader.refresh_from_db()
    assert reader.email == "reader@example.com"


def test_a_guest_is_sent_to_log_in(client, db):
    response = save_email(client, "guest@example.com")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- The comment and reply forms -------------------------------------------------------------


def test_without_an_email_the_form_says_how_to_add_one_instead_of_a_checkbox(
    client, reader, article, add_comment
):
    client.force_login(reader)
    page = client.get(article.get_absolute_url())

    assert not notify_checkbox(page)
    link = element(page, f'#comment-form a[href^="{reverse("account_data")}"]')
    assert link["href"].endswith("#reply-email")
    assert f"next={article.get_absolute_url()}" in link["href"].replace("%2F", "/")
    assert "email" in text(link.parent).lower()

    parent = add_comment(article)
    reply_form = client.get(reverse("comments:reply", kwargs={"pk": parent.pk}))
    assert not notify_checkbox(reply_form, "form")
    assert elements(reply_form, f'form a[href^="{reverse("account_data")}"]')


def test_with_an_email_and_for_guests_the_checkbox_is_offered(
    client, make_client, make_user, article
):
    client.force_login(make_user("reader", email="reader@example.com"))
    assert notify_checkbox(client.get(article.get_absolute_url()))
    guest_page = make_client().get(article.get_absolute_url())
    assert notify_checkbox(guest_page)
    assert not elements(guest_page, f'#comment-form a[href^="{reverse("account_data")}"]')


def test_adding_an_email_shows_the_checkbox_on_the_readers_own_copy_of_the_page(
    client, reader, article
):
    client.force_login(reader)
    article_url = article.get_absolute_url()
    first = client.get(article_url)
    assert "private" in first["Cache-Control"]  # the reader's own copy, never a shared one
    assert not notify_checkbox(first)
    assert not notify_checkbox(client.get(article_url))  # served from their copy
    version = versions(Reader(user=reader).version_name)

    save_email(client, "reader@example.com")
    client.get(reverse("account_data"))  # reads the message

    assert versions(Reader(user=reader).version_name) != version
    assert notify_checkbox(client.get(article_url))


def test_a_reader_who_adds_an_email_is_emailed_about_replies(
    client, make_client, article, django_capture_on_commit_callbacks, mailoutbox
):
    sign_up(client, email="carla@example.com")
    page = client.get(article.get_absolute_url())
    assert notify_checkbox(page)
    with django_capture_on_commit_callbacks(execute=True):
        post_comment(client, article, body="Tell me when you answer.", notify_replies="on")
    parent = Comment.objects.get()
    assert parent.notify_replies

    with django_capture_on_commit_callbacks(execute=True):
        post_comment(make_client(token="bea"), reply_to=parent, author_name="Bea")

    assert [message.to for message in mailoutbox] == [["carla@example.com"]]


# --- My activity -----------------------------------------------------------------------------


def test_my_activity_sends_a_reader_without_an_email_to_add_one(client, reader):
    client.force_login(reader)
    section = element(client.get(reverse("account_activity")), "#reply-emails-heading").parent
    assert element(section, f'a[href^="{reverse("account_data")}"]')
    assert "add an email address" in text(section).lower()


def test_my_activity_tells_a_reader_with_an_email_to_tick_the_box(client, make_user):
    client.force_login(make_user("reader", email="reader@example.com"))
    section = element(client.get(reverse("account_activity")), "#reply-emails-heading").parent
    assert "tick “Email me when someone replies”" in text(section)
    assert not elements(section, f'a[href^="{reverse("account_data")}"]')


def test_my_activity_says_when_comments_ask_for_emails_that_have_nowhere_to_go(
    client, reader, article, add_comment
):
    add_comment(article, user=reader, notify_replies=True)
    client.force_login(reader)
    section = element(client.get(reverse("account_activity")), "#reply-emails-heading").parent
    assert "1 of your comments asks for reply emails" in text(section)
    assert "no email address" in text(section)
    assert element(section, f'a[href^="{reverse("account_data")}"]')
