"""The reader's CSRF token, made as `django.middleware.csrf.get_token` makes it, with the
randomness drawn in one read.

Django draws each character of a secret or a mask with its own `SystemRandom().choice`, one
`urandom` call per character: 64 calls for every page, and 96 for a new reader. Every page
carries a token, cached copies included, so here a secret or mask comes from one `urandom`
read, each byte below 248 giving one of the 62 characters (four byte values each, so every
character is as likely as with Django's draw). The token has Django's form, and Django's
CsrfViewMiddleware checks it.
"""

import os

from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH

_USABLE_BYTES = 256 - 256 % len(CSRF_ALLOWED_CHARS)
_BYTE_TO_CHAR = bytes.maketrans(
    bytes(range(_USABLE_BYTES)),
    bytes(ord(CSRF_ALLOWED_CHARS[byte % len(CSRF_ALLOWED_CHARS)]) for byte in range(_USABLE_BYTES)),
)
_UNUSABLE_BYTES = bytes(range(_USABLE_BYTES, 256))
_CHAR_INDEX = {char: index for index, char in enumerate(CSRF_ALLOWED_CHARS)}


def random_csrf_string(length=CSRF_SECRET_LENGTH):
    """`length` characters drawn uniformly from CSRF_ALLOWED_CHARS."""
    chars = b""
    while len(chars) < length:
        chars += os.urandom(length + 8).translate(_BYTE_TO_CHAR, _UNUSABLE_BYTES)
    return chars[:length].decode()


def masked_secret(secret):
    """The secret under a fresh mask, as Django's `_mask_cipher_secret` does it."""
    mask = random_csrf_string()
    size = len(CSRF_ALLOWED_CHARS)
    cipher = "".join(
        [
            CSRF_ALLOWED_CHARS[(_CHAR_INDEX[x] + _CHAR_INDEX[y]) % size]
            for x, y in zip(secret, mask, strict=True)
        ]
    )
    return mask + cipher


def csrf_secret(request):
    """The reader's CSRF secret, made now (to be sent as their cookie, as Django's `get_token`
    does) if they have none yet."""
    if "CSRF_COOKIE" in request.META:
        secret = request.META["CSRF_COOKIE"]
    else:
        secret = request.META["CSRF_COOKIE"] = random_csrf_string()
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    return secret


def csrf_token(request):
    """The same as Django's `get_token(request)`: a masked token of the reader's secret."""
    return masked_secret(csrf_secret(request))
