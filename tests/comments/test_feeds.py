"""The Atom feeds: the site's articles, and one article's published comments."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from comments.models import Comment
from tests.conftest import elements, post_comment

ATOM = "{http://www.w3.org/2005/Atom}"


def articles_url():
    return reverse("feed_articles")


def comments_url(article):
    return reverse("feed_article_comments", kwargs={"slug": article.slug})


def atom(response):
    """The feed element, after checking what every Atom feed and entry must have."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}").text, required
    assert feed.find(f"{ATOM}author/{ATOM}name").text
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href").startswith("http://testserver/")
    ids = []
    for entry in feed.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "published"):
            assert entry.find(f"{ATOM}{required}").text, required
        assert entry.find(f"{ATOM}author/{ATOM}name").text
        assert entry.find(f"{ATOM}link").get("href").startswith("http://testserver/")
        ids.append(entry.find(f"{ATOM}id").text)
    assert len(ids) == len(set(ids))
    return feed


def entries(feed):
    return feed.findall(f"{ATOM}entry")


def titles(feed):
    return [entry.find(f"{ATOM}title").text for entry in entries(feed)]


def links(feed):
    return [entry.find(f"{ATOM}link").get("href") for entry in entries(feed)]


# --- Articles --------------------------------------------------------------------------------


def test_the_articles_feed_lists_published_articles_newest_first(
    client, without_seed, make_article
):
    now = timezone.now()
    older = make_article(headline="Older news", published_at=now - timedelta(days=2))
    newer = make_article(headline="Newer news", published_at=now - timedelta(hours=1), byline="Jo")
    make_article(headline="A draft", status=Article.Status.DRAFT)
    make_article(headline="Scheduled", published_at=now + timedelta(days=1))

    feed = atom(client.get(articles_url()))

    assert titles(feed) == ["Newer news", "Older news"]
    assert links(feed) == [
        f"http://testserver{newer.get_absolute_url()}",
        f"http://testserver{older.get_absolute_url()}",
    ]
    assert entries(feed)[0].find(f"{ATOM}author/{ATOM}name").text == "Jo"


def test_the_articles_feed_escapes_what_editors_wrote(client, without_seed, make_article):
    make_article(headline="Cars <b>& more</b>", standfirst="Less <script>than</script> that")

    feed = atom(client.get(articles_url()))

    assert titles(feed) == ["Cars <b>& more</b>"]
    summary = entries(feed)[0].find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    assert "<script>" not in summary.text
    assert "&lt;script&gt;" in summary.text


# --- Comments --------------------------------------------------------------------------------


def test_the_comments_feed_has_only_published_comments_newest_first(
    client, article, make_article, add_comment
):
    first = add_comment(article, "First approved", minutes_ago=30, author_name="Ana")
    reply = add_comment(article, "A reply", parent=first, minutes_ago=20, author_name="Bea")
    add_comment(article, "Waiting", minutes_ago=15, status=Comment.Status.PENDING)
    add_comment(article, "Spammy", minutes_ago=14, status=Comment.Status.SPAM)
    removed = add_comment(article, "Removed", minutes_ago=13, status=Comment.Status.REJECTED)
    add_comment(article, "Under a removed one", parent=removed, minutes_ago=12)
    add_comment(article, "Deleted", minutes_ago=11, deleted_at=timezone.now())
    latest = add_comment(article, "Latest approved", minutes_ago=5, author_name="Cem")
    add_comment(make_article(), "On another article")

    response = client.get(comments_url(article))
    feed = atom(response)

    assert titles(feed) == ["Comment by Cem", "Reply by Bea", "Comment by Ana"]
    assert links(feed) == [
        f"http://testserver{comment.get_absolute_url()}" for comment in (latest, reply, first)
    ]
    content = response.content.decode()
    assert "Latest approved" in content
    for hidden in ("Waiting", "Spammy", "Removed", "Under a removed one", "Deleted", "another"):
        assert hidden not in content


def test_the_comments_feed_shows_no_email_or_private_field(client, article, add_comment):
    add_comment(
        article,
        "Hello <there> https://example.org",
        email="secret@example.com",
        reader_token="guest-token-123",
        ip_hash="hash-of-address",
    )

    response = client.get(comments_url(article))
    feed = atom(response)

    content = response.content.decode()
    for private in ("secret@example.com", "guest-token-123", "hash-of-address", "<email>"):
        assert private not in content
    summary = entries(feed)[0].find(f"{ATOM}summary").text
    assert "&lt;there&gt;" in summary
    assert 'href="https://example.org"' in summary


def test_the_comments_feed_shows_a_new_comment_at_the_next_request(
    article, add_comment, make_client
):
    add_comment(article, "Already there")
    reader = make_client()
    assert titles(atom(reader.get(comments_url(article)))) == ["Comment by Someone"]

    post_comment(make_client(), article, author_name="Newcomer", body="Just posted this.")

    assert titles(atom(reader.get(comments_url(article)))) == [
        "Comment by Newcomer",
        "Comment by Someone",
    ]


def test_the_comments_feed_is_limited_and_costs_the_same_queries_for_any_count(
    client, article, django_assert_max_num_queries
):
    def add(count):
        Comment.objects.bulk_create(
            Comment(article=article, author_name=f"R{n}", reader_token=f"t{n}", body="Hi there")
            for n in range(count)
        )

    add(3)
    with django_assert_max_num_queries(2):
        assert len(entries(atom(client.get(comments_url(article))))) == 3
    add(60)
    client.cookies.clear()
    with django_assert_max_num_queries(2):
        assert len(entries(atom(client.get(comments_url(article) + "?again")))) == 50


def test_the_articles_feed_costs_one_query(client, seeded_article, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        atom(client.get(articles_url()))


def test_no_comments_feed_for_a_draft_or_unknown_article(client, make_article):
    draft = make_article(status=Article.Status.DRAFT)

    assert client.get(comments_url(draft)).status_code == 404
    assert client.get("/articles/no-such-article/comments.atom").status_code == 404


@pytest.mark.parametrize("method", ["post", "delete"])
def test_feeds_answer_only_reading(client, article, method):
    assert getattr(client, method)(comments_url(article)).status_code == 405


# --- Announced in the page's head -------------------------------------------------------------


def test_the_article_page_announces_both_feeds_in_its_head(client, article):
    page = client.get(article.get_absolute_url())

    announced = elements(page, 'head link[rel="alternate"][type="application/atom+xml"]')
    assert [link["href"] for link in announced] == [articles_url(), comments_url(article)]
    assert all(link["title"] for link in announced)
    assert article.headline in announced[1]["title"]
    for link in announced:
        atom(client.get(link["href"]))
