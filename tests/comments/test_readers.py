import pytest
from django.test import RequestFactory

from comments.models import HelpfulMark
from comments.readers import Reader, client_ip, ip_hash
from comments.services import helpful_toggle


def test_ip_is_hashed_with_a_salt_and_never_kept_raw(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    hashed = ip_hash(request)
    assert "203.0.113.9" not in hashed and len(hashed) == 64
    settings.EVR_IP_HASH_SALT = "another salt"
    assert ip_hash(request) != hashed


def test_forwarded_for_is_ignored_unless_proxies_are_trusted(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.7"
    )
    assert client_ip(request) == "10.0.0.2"
    settings.EVR_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.7"


def test_a_reader_is_their_account_else_their_guest_token():
    user = object()
    assert Reader(user=user, token="ignored").lookup() == {"user": user}
    assert Reader(token="t0k").lookup() == {
        "user__isnull": True,
        "reader_token": "t0k",
    }
    assert Reader().lookup() is None


def test_a_helpful_mark_needs_a_reader(article, add_comment):
    comment = add_comment(article, "Hello", author_name="A", reader_token="author")
    with pytest.raises(ValueError):
        helpful_toggle(comment=comment, reader=Reader())
    assert not HelpfulMark.objects.exists()
