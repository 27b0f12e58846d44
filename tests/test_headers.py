"""Headers every response carries, which proxy headers are trusted, and what the logs keep:
never a reader's address."""

import logging
import re
from contextlib import nullcontext
from pathlib import Path

import pytest
from django.core.cache.backends.redis import RedisCache
from django.urls import reverse

from comments import ratelimit
from evsite.middleware import PERMISSIONS_POLICY
from tests.conftest import ReaderClient, post_comment
from tests.test_faults import NOWHERE_REDIS, failing_writes, locked, reset_fault_state, utf16_post
from tests.test_settings import manage

ROOT = Path(__file__).resolve().parents[1]
SECRET = {"DJANGO_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-0123456789"}


@pytest.fixture(autouse=True)
def _fresh_fault_state():
    reset_fault_state()
    yield
    reset_fault_state()


def varies_on(response, header):
    return header.lower() in [h.strip().lower() for h in response.get("Vary", "").split(",")]


# --- Permissions-Policy and Vary: HX-Request ------------------------------------------------


@pytest.fixture
def get_urls(seeded_article, add_comment, make_poll):
    """Every GET URL of the site's views (articles, comments, polls, accounts)."""
    comment = add_comment(seeded_article)
    poll = make_poll(article=seeded_article)
    car_model = seeded_article.facts.exclude(car_model=None).first().car_model
    slug = {"slug": seeded_article.slug}
    by_comment = {"pk": comment.pk}
    return [
        reverse("articles:home"),
        reverse("articles:detail", kwargs=slug),
        reverse("articles:facts_json", kwargs=slug),
        reverse("articles:car_model", kwargs={"slug": car_model.slug}),
        reverse("articles:brand", kwargs={"slug": car_model.brand.slug}),
        reverse("comments:list", kwargs=slug),
        reverse("comments:more", kwargs=slug) + "?page=2",
        reverse("comments:new", kwargs=slug) + "?since=0&known=0",
        reverse("comments:permalink", kwargs=by_comment),
        reverse("comments:reply", kwargs=by_comment),
        reverse("comments:edit", kwargs=by_comment),
        reverse("comments:delete", kwargs=by_comment),
        reverse("comments:report", kwargs=by_comment),
        reverse("comments:poll", kwargs={"pk": poll.pk}),
        reverse("comments:poll_results", kwargs={"pk": poll.pk}),
        reverse("comments:poll_results_json", kwargs={"pk": poll.pk}),
        reverse("comments:poll_vote", kwargs={"pk": poll.pk}),
        reverse("login"),
        reverse("signup"),
        "/no-such-page/",
    ]


def test_every_page_and_fragment_varies_on_hx_request_and_denies_features(client, get_urls):
    for url in get_urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert varies_on(response, "HX-Request"), (url, headers, response.status_code)
            assert response["Permissions-Policy"] == PERMISSIONS_POLICY, url
            assert "Content-Security-Policy" in response, url


def test_new_comment_count_answers_htmx_differently_and_says_so(client, seeded_article):
    url = reverse("comments:new", kwargs={"slug": seeded_article.slug}) + "?since=0&known=0"
    page, fragment = client.get(url), client.get(url, headers={"HX-Request": "true"})
    assert page.status_code == 302 and fragment.status_code in (200, 204)
    assert varies_on(page, "HX-Request") and varies_on(fragment, "HX-Request")


def test_a_cached_copy_keeps_both_vary_headers(make_client, seeded_article):
    reader = make_client()
    reader.get(seeded_article.get_absolute_url())
    cached = reader.get(seeded_article.get_absolute_url())
    assert "public" in cached["Cache-Control"]
    assert varies_on(cached, "Cookie") and varies_on(cached, "HX-Request")


def test_posts_redirects_and_the_admin_carry_the_headers(client, seeded_article):
    posted = post_comment(client, seeded_article)
    assert posted.status_code == 302
    admin = client.get("/admin/")
    for response in (posted, admin):
        assert response["Permissions-Policy"] == PERMISSIONS_POLICY
        assert varies_on(response, "HX-Request")
    assert "'unsafe-inline'" in admin["Content-Security-Policy"]


def test_the_permissions_policy_denies_what_the_site_never_uses():
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "interest-cohort"):
        assert f"{feature}=()" in PERMISSIONS_POLICY


def test_static_files_do_not_vary_on_hx_request(client):
    response = client.get("/static/css/site.css")
    assert not varies_on(response, "HX-Request")
    assert response["Permissions-Policy"] == PERMISSIONS_POLICY


# --- X-Forwarded-Proto is trusted only behind a proxy -----------------------------------------

SHOW_PROXY_HEADER = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"


def test_the_scheme_header_is_trusted_only_when_proxies_are_declared():
    alone = manage("shell", "-c", SHOW_PROXY_HEADER, **SECRET)
    behind = manage("shell", "-c", SHOW_PROXY_HEADER, EVR_TRUSTED_PROXY_COUNT="1", **SECRET)
    assert alone.returncode == 0 and behind.returncode == 0, alone.stderr + behind.stderr
    # (the shell may first say how many objects it imported)
    assert alone.stdout.splitlines()[-1] == "None"
    assert behind.stdout.splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_the_deploy_check_is_clean_behind_a_proxy_too():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ALLOWED_HOSTS="evreader.example",
        EVR_TRUSTED_PROXY_COUNT="1",
        **SECRET,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_a_client_cannot_claim_https_without_a_trusted_proxy(settings, seeded_article):
    settings.SECURE_SSL_REDIRECT = True
    response = ReaderClient().get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_the_production_example_binds_a_local_address():
    readme = (ROOT / "README.md").read_text().replace("\\\n", " ")  # join continued lines
    commands = re.findall(r"^\S*bin/gunicorn .*$", readme, flags=re.MULTILINE)
    assert commands
    for command in commands:
        assert "--bind 127.0.0.1:" in command, command
        assert "%(h)s" not in command, command


# --- No raw address in any log ----------------------------------------------------------------


def serve_target():
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^serve:.*?(?=^\S|\Z)", makefile, flags=re.MULTILINE | re.DOTALL).group()


def test_make_serve_logs_requests_without_the_client_address():
    target = serve_target()
    assert "--access-logfile" in target
    log_format = re.search(r"--access-logformat (\S.*?)(?: --|'$|$)", target, re.MULTILINE)
    assert log_format, "make serve must give gunicorn an access log format"
    assert "%(h)s" not in log_format.group(1)  # the remote address
    assert "forwarded" not in log_format.group(1).lower()  # nor X-Forwarded-For
    assert "%({" not in log_format.group(1)  # nor any request header or environ value


CLIENT = "203.0.113.77"
FORWARDED = "198.51.100.23"


@pytest.mark.urls("tests.test_faults")
def test_no_log_record_holds_a_client_address(seeded_article, caplog, monkeypatch, settings):
    """Everything the project logs: 4xx, 5xx, 503, CSRF failures, rate limits counted in the
    worker, the refusal of a comment over the limit."""
    caplog.set_level(logging.DEBUG)
    settings.EVR_TRUSTED_PROXY_COUNT = 1
    settings.EVR_COMMENTS_PER_MINUTE = 2
    browser = ReaderClient(
        raise_request_exception=False,
        REMOTE_ADDR=CLIENT,
        HTTP_X_FORWARDED_FOR=f"{FORWARDED}, {CLIENT}",
    )
    statuses = [
        browser.get("/no-such-page/").status_code,
        browser.get("/test-faults/bug/").status_code,
        browser.get("/test-faults/forbidden/").status_code,
        utf16_post(browser, reverse("login")).status_code,
        ReaderClient(enforce_csrf_checks=True, REMOTE_ADDR=CLIENT)
        .post("/accounts/login/")
        .status_code,
    ]
    monkeypatch.setattr(ratelimit, "cache", RedisCache(NOWHERE_REDIS, {}))
    for number in range(3):
        with failing_writes(locked) if number == 1 else nullcontext():
            posted = post_comment(browser, seeded_article, body=f"Comment number {number}.")
        statuses.append(posted.status_code)
    assert statuses == [404, 500, 403, 400, 403, 302, 503, 429]

    formatter = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "Internal Server Error" in logged and "cannot answer" in logged
    assert CLIENT not in logged
    assert FORWARDED not in logged
