"""Every page carries the reader's CSRF token (evsite.csrf): made as Django makes it, and
checked by Django's own middleware."""

from collections import Counter

from django.middleware.csrf import (
    CSRF_ALLOWED_CHARS,
    CSRF_SECRET_LENGTH,
    CSRF_TOKEN_LENGTH,
    _unmask_cipher_token,
)
from django.test import RequestFactory

from evsite.csrf import csrf_token, masked_secret, random_csrf_string


def test_secrets_are_made_of_the_allowed_characters_each_as_likely():
    drawn = "".join(random_csrf_string() for _ in range(2000))
    assert len(drawn) == 2000 * CSRF_SECRET_LENGTH
    counts = Counter(drawn)
    assert set(counts) == set(CSRF_ALLOWED_CHARS)
    expected = len(drawn) / len(CSRF_ALLOWED_CHARS)  # about 1,032 each
    assert all(0.8 * expected < count < 1.2 * expected for count in counts.values())
    assert len({random_csrf_string() for _ in range(100)}) == 100


def test_a_masked_token_unmasks_to_the_secret_and_differs_every_time():
    secret = random_csrf_string()
    tokens = {masked_secret(secret) for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert len(token) == CSRF_TOKEN_LENGTH
        assert _unmask_cipher_token(token) == secret


def test_a_reader_without_a_secret_gets_one_to_be_sent_as_their_cookie():
    request = RequestFactory().get("/")
    token = csrf_token(request)
    secret = request.META["CSRF_COOKIE"]
    assert len(secret) == CSRF_SECRET_LENGTH
    assert request.META["CSRF_COOKIE_NEEDS_UPDATE"] is True
    assert _unmask_cipher_token(token) == secret
    assert _unmask_cipher_token(csrf_token(request)) == secret  # the same secret after


def test_a_reader_with_a_secret_keeps_it():
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = "k" * CSRF_SECRET_LENGTH
    assert _unmask_cipher_token(csrf_token(request)) == "k" * CSRF_SECRET_LENGTH
