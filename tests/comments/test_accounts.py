from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.conftest import element, elements, text


def test_sign_up_creates_an_account_signs_in_and_returns(client, seeded_article):
    article_url = seeded_article.get_absolute_url()
    page = client.get(reverse("signup"), {"next": article_url})
    assert page.status_code == 200
    assert elements(page, f'[value="{article_url}"]')

    response = client.post(
        reverse("signup"),
        {
            "username": "new-reader",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
            "next": article_url,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == article_url
    user = get_user_model().objects.get(username="new-reader")
    article_page = client.get(article_url).content.decode()
    signed_in = element(article_page, ':-soup-contains-own("Signed in as")')
    assert "Signed in as new-reader" in text(signed_in)
    assert text(element(signed_in, "strong")) == "new-reader"
    assert not elements(article_page, '[name="author_name"]')  # comments go under the account
    assert user.is_staff is False


def test_sign_up_errors_are_shown_and_nothing_is_created(client, db):
    response = client.post(
        reverse("signup"),
        {"username": "x", "password1": "short", "password2": "different"},
    )
    assert response.status_code == 422
    assert "The two password fields didn’t match." in response.content.decode()
    assert not get_user_model().objects.exists()


def test_sign_up_ignores_an_offsite_next(client, db):
    response = client.post(
        reverse("signup"),
        {
            "username": "new-reader",
            "password1": "a-long-Passw0rd!",
            "password2": "a-long-Passw0rd!",
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/"


def test_log_in_and_log_out(client, reader, seeded_article):
    article_url = seeded_article.get_absolute_url()
    page = client.get(reverse("login"), {"next": article_url}).content.decode()
    assert text(element(page, "h1")) == "Log in"
    assert reverse("signup") in page

    wrong = client.post(reverse("login"), {"username": "reader", "password": "nope"})
    assert wrong.status_code == 200
    assert "Please enter a correct username and password" in wrong.content.decode()

    response = client.post(
        reverse("login"),
        {"username": "reader", "password": "a-long-Passw0rd!", "next": article_url},
    )
    assert response["Location"] == article_url

    assert client.get(reverse("logout")).status_code == 405  # logging out takes a POST
    assert client.post(reverse("logout")).status_code == 302
    assert "Signed in as" not in client.get(article_url).content.decode()


def test_header_links_to_log_in_and_sign_up(client, seeded_article):
    html = client.get(seeded_article.get_absolute_url()).content.decode()
    next_param = "?next=/articles/nissan-small-ev-below-leaf/"
    assert elements(html, f'[href="{reverse("login")}{next_param}"]')
    assert elements(html, f'[href="{reverse("signup")}{next_param}"]')


def test_log_in_page_is_named_after_the_site_not_the_host(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert text(element(html, "title")).endswith("EV Reader")
    assert "testserver" not in html.split("<main")[0]
