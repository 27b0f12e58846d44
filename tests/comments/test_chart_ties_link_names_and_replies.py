"""Tied shares on the poll chart, fact cards' links each named by their fact, replies on
"My activity" that say what they answer, and reply emails that link to the address the
reader used."""

import itertools
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments import services
from comments.models import Comment, Poll
from tests.conftest import element, elements, post_comment, text

# --- Poll chart: tied shares ------------------------------------------------------------------

# Where each marker shape's path starts, from its centre (comments/polls/charts.py).
MARKER_START = {
    "a4": (-4, 0),  # circle
    "h7": (-3.5, -3.5),  # square
    "l4.5,8": (0, -5),  # triangle
    "l4.5,-8": (0, 5),  # triangle pointing down
    "l5,5": (0, -5),  # diamond
    "h3v": (-1.5, -5),  # plus
}
MARKER = re.compile(r"M(-?[\d.]+),(-?[\d.]+)(a4|h7|l4\.5,8|l4\.5,-8|l5,5|h3v)")


def chart_of(client, poll):
    return element(
        client.get(poll.article.get_absolute_url()), f"#poll-{poll.pk}-results svg[role=img]"
    )


def percent_to_y(chart):
    """The chart's own scale, read from its 0% and 100% gridlines."""
    ticks = {
        text(label): float(label["y"])
        for label in elements(chart, ".poll-chart__axis text")
        if text(label).endswith("%")
    }
    return lambda percent: ticks["0%"] + (ticks["100%"] - ticks["0%"]) * percent / 100


def end_labels(chart):
    """[(text, the y of its middle)] of the share written at the end of each line, in order."""
    labels = []
    for label in elements(chart, ".poll-chart__series .poll-chart__end"):
        middle = float(label["y"]) - 0.35 * float(label["font-size"])
        labels.append((text(label), middle))
    return labels


def markers_of(chart):
    """The centres of the markers drawn on each line, in order, the one at its end last."""
    centres = []
    for path in elements(chart, ".poll-chart__series .poll-chart__marker"):
        found = []
        for x, y, shape in MARKER.findall(path["d"]):
            dx, dy = MARKER_START[shape]
            found.append((round(float(x) - dx, 1), round(float(y) - dy, 1)))
        centres.append(found)
    return centres


def lines(chart):
    return [
        [tuple(map(float, point.split(","))) for point in line["points"].split()]
        for line in elements(chart, ".poll-chart__series polyline")
    ]


def height_on(line, x):
    for (x1, y1), (x2, y2) in itertools.pairwise(line):
        if x1 <= x <= x2:
            return y1 + (y2 - y1) * (x - x1) / (x2 - x1) if x2 != x1 else y1
    raise AssertionError(f"{x} is not along the line")


@pytest.fixture
def tied_poll(make_poll, add_votes):
    """Ends at 20% / 20% / 20% / 40% after a day at 25% / 25% / 0% / 50%."""
    poll = make_poll(
        labels=("Yes", "No", "Maybe", "Not sure"),
        results_visibility=Poll.ResultsVisibility.ALWAYS,
        opens_at=timezone.now() - timedelta(days=3),
    )
    add_votes(poll, 1, 1, 0, 2, created_at=timezone.now() - timedelta(days=2))
    add_votes(poll, 0, 0, 1, 0, created_at=timezone.now() - timedelta(days=1))
    return poll


def test_tied_shares_are_labelled_around_their_value_not_pushed_below_it(client, tied_poll):
    chart = chart_of(client, tied_poll)
    y = percent_to_y(chart)

    labels = end_labels(chart)

    assert [label for label, _ in labels] == ["20%", "20%", "20%", "40%"]
    tied = sorted(middle for label, middle in labels if label == "20%")
    assert sum(tied) / len(tied) == pytest.approx(y(20), abs=0.2)
    # None of them drifts to another answer's height: each is nearer 20% than 0% or 40%.
    for middle in tied:
        assert abs(middle - y(20)) < min(abs(middle - y(0)), abs(middle - y(40)))
    # Still a line of text apart from one another, and from the 40% label.
    middles = sorted(middle for _, middle in labels)
    assert all(b - a >= 13 for a, b in itertools.pairwise(middles))


def test_the_label_of_the_line_arriving_from_above_sits_above(client, make_poll, add_votes):
    poll = make_poll(labels=("Yes", "No"), results_visibility=Poll.ResultsVisibility.ALWAYS)
    add_votes(poll, 0, 1, created_at=timezone.now() - timedelta(days=2))  # No at 100%
    add_votes(poll, 1, 0, created_at=timezone.now() - timedelta(days=1))  # 50% each

    (yes, yes_middle), (no, no_middle) = end_labels(chart_of(client, poll))

    assert yes == no == "50%"
    assert no_middle < yes_middle  # higher on the screen


def test_tied_labels_stay_inside_the_plot(client, make_poll, add_votes):
    poll = make_poll(results_visibility=Poll.ResultsVisibility.ALWAYS)
    add_votes(poll, 0, 0, 1, created_at=timezone.now() - timedelta(days=1))
    chart = chart_of(client, poll)
    y = percent_to_y(chart)

    middles = sorted(middle for _, middle in end_labels(chart))

    assert all(b - a >= 13 for a, b in itertools.pairwise(middles))
    assert y(100) - 8 <= middles[0] and middles[-1] <= y(0) + 8


def test_markers_of_lines_that_meet_do_not_hide_each_other_and_stay_on_their_lines(
    client, tied_poll
):
    chart = chart_of(client, tied_poll)

    markers = markers_of(chart)

    # Every answer's shape shows wherever lines meet: at the tied end, and where "Yes" and
    # "No" both had 25%.
    for first, second in itertools.combinations(markers, 2):
        for (x1, y1), (x2, y2) in itertools.product(first, second):
            assert max(abs(x1 - x2), abs(y1 - y2)) >= 9, "two markers cover each other"
    for line, centres in zip(lines(chart), markers, strict=True):
        for x, y in centres:
            assert height_on(line, x) == pytest.approx(y, abs=0.2)
    assert markers[3][-1] == lines(chart)[3][-1]  # a share nobody ties ends on its last point


# --- Fact cards: a distinct name for every link ----------------------------------------------


def visible_text(link):
    shown = link.__copy__()
    for hidden in shown.select(".visually-hidden"):
        hidden.decompose()
    return text(shown)


def test_every_fact_cards_links_have_names_of_their_own(client, seeded_article):
    page = client.get(seeded_article.get_absolute_url())
    facts = elements(page, "li.fact")
    assert len(facts) >= 10

    names = {"Discuss": [], "Suggest a correction": []}
    for card in facts:
        first_words = " ".join(text(element(card, ".fact__statement")).split()[:3])
        for link in elements(card, ".claim-tools a"):
            for words, found in names.items():
                if visible_text(link) == words:
                    name = text(link)
                    assert name.startswith(words)
                    # The card's own statement (its first words at least) tells it apart.
                    assert f"“{first_words}" in name.removeprefix(words)
                    found.append(name)
        discuss = next(a for a in elements(card, ".claim-tools a") if text(a).startswith("Discuss"))
        assert f"anchor={card['id']}" in discuss["href"]

    assert len(names["Discuss"]) == len(names["Suggest a correction"]) == len(facts)
    for found in names.values():
        assert len(set(found)) == len(found), found
    assert "Discuss this fact: “It will be positioned below the electric successor" in " ".join(
        names["Discuss"]
    )


def test_paragraph_links_keep_their_numbered_names(client, seeded_article):
    page = client.get(seeded_article.get_absolute_url())

    discuss = [
        text(link)
        for link in elements(page, ".article__body p .claim-tools a")
        if visible_text(link) == "Discuss"
    ]

    assert discuss[:2] == ["Discuss paragraph 1", "Discuss paragraph 2"]
    assert len(set(discuss)) == len(discuss)


# --- My activity: what a reply answers --------------------------------------------------------

ACTIVITY = "/accounts/activity/"


@pytest.fixture
def signed_in(client, reader):
    client.force_login(reader)
    return client


def where(page, comment):
    return element(page, f"#activity-{comment.pk}-where")


def test_a_reply_says_whom_it_answers_with_a_link_to_that_comment(
    signed_in, reader, article, add_comment
):
    beas = add_comment(article, "Small EVs will not sell.", author_name="Bea")
    mine = add_comment(article, "They will.", parent=beas, user=reader)
    top = add_comment(article, "My own thread.", user=reader)

    page = signed_in.get(ACTIVITY)

    assert text(where(page, mine)) == f"Reply to Bea on {article.headline}"
    link = elements(where(page, mine), "a")[0]  # then the article's
    assert link["href"] == beas.get_absolute_url()
    assert signed_in.get(link["href"], follow=True).redirect_chain[-1][0].endswith(f"#c-{beas.pk}")
    assert text(where(page, top)) == f"On {article.headline}"
    article_aria = element(page, f"#activity-{mine.pk}")["aria-labelledby"]
    assert article_aria == f"activity-{mine.pk}-where"


def test_a_reply_at_the_deepest_level_answers_the_comment_it_names(
    signed_in, reader, article, add_comment
):
    top = add_comment(article, "Top", author_name="Ann")
    middle = add_comment(article, "Middle", parent=top, author_name="Mid")
    deepest = add_comment(article, "Deepest", parent=middle, author_name="Cy")
    # Threads nest three deep: a reply to the deepest level is stored beside what it answers.
    mine = add_comment(article, "@Cy I agree.", parent=middle, user=reader)

    page = signed_in.get(ACTIVITY)

    assert text(where(page, mine)).startswith("Reply to Cy on")
    assert elements(where(page, mine), "a")[0]["href"] == deepest.get_absolute_url()


def test_a_reply_to_a_comment_nobody_sees_now_says_so_without_a_dead_link(
    signed_in, reader, article, add_comment
):
    removed = add_comment(article, "Rude.", author_name="Dan", status="rejected")
    under_removed = add_comment(article, "Calm down.", parent=removed, user=reader)
    gone = add_comment(article, "Was here.", author_name="Eve", deleted_at=timezone.now())
    under_gone = add_comment(article, "Still here.", parent=gone, user=reader)

    page = signed_in.get(ACTIVITY)

    assert text(where(page, under_removed)).startswith("Reply to Dan on")
    assert len(elements(where(page, under_removed), "a")) == 1  # the article only
    # A deleted comment a reply keeps in its thread still has its place: linked, unnamed.
    assert text(where(page, under_gone)).startswith("Reply to a deleted comment on")
    assert elements(where(page, under_gone), "a")[0]["href"] == gone.get_absolute_url()


def test_what_replies_answer_costs_the_same_queries_however_many_there_are(
    signed_in, reader, article, add_comment, django_assert_num_queries
):
    def add(count):
        for n in range(count):
            theirs = add_comment(article, f"Theirs {n}", author_name=f"Author {n}")
            mine = add_comment(article, f"Mine {n}", parent=theirs, user=reader)
            add_comment(article, f"@{reader.username} and back {n}", parent=mine)

    add(2)
    with CaptureQueriesContext(connection) as few:
        signed_in.get(ACTIVITY)
    add(25)
    with django_assert_num_queries(len(few)):
        page = signed_in.get(ACTIVITY)
    shown = [text(item) for item in elements(page, '[id^="activity-"][id$="-where"]')]
    assert len(shown) == 20
    assert all(re.match(r"Reply to Author \d+ on ", item) for item in shown)


# --- Reply emails: links to where the reader is -----------------------------------------------

SITE = "https://evreader.example"


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.EVR_SITE_URL = SITE
    settings.EVR_EMAIL_IN_BACKGROUND = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def opted_in(article, add_comment):
    return add_comment(
        article,
        "Small EVs are the future.",
        author_name="Ana",
        email="ana@example.com",
        reader_token="ana-token",
        notify_replies=True,
    )


def email_links(message):
    return re.findall(r"\bhttps?://\S+", message.body)


def reply_from(browser, parent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_comment(browser, reply_to=parent, body="I disagree.")
    assert response.status_code in (200, 302), response.content.decode()[:300]


def test_in_development_a_reply_posted_on_another_host_and_port_links_there(
    make_client, opted_in, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.DEBUG = True
    browser = make_client(token="bea-token", HTTP_HOST="127.0.0.1:8123")

    reply_from(browser, opted_in, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    reply = Comment.objects.get(parent=opted_in)
    links = email_links(message)
    assert links[0] == f"http://127.0.0.1:8123{reply.get_absolute_url()}"
    assert links[1].startswith("http://127.0.0.1:8123/accounts/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe"] == f"<{links[1]}>"
    assert browser.get(links[1].removeprefix("http://127.0.0.1:8123")).status_code == 200


def test_behind_a_trusted_proxy_the_links_use_the_scheme_it_reports(
    make_client, opted_in, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.DEBUG = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = make_client(token="bea-token", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")

    reply_from(browser, opted_in, django_capture_on_commit_callbacks)

    assert all(link.startswith("https://localhost/") for link in email_links(mailoutbox[0]))


def test_without_a_trusted_proxy_a_forwarded_scheme_is_ignored(
    make_client, opted_in, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.DEBUG = True
    settings.SECURE_PROXY_SSL_HEADER = None
    browser = make_client(token="bea-token", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https")

    reply_from(browser, opted_in, django_capture_on_commit_callbacks)

    assert all(link.startswith("http://localhost/") for link in email_links(mailoutbox[0]))


def test_in_production_the_host_a_replier_sends_never_chooses_the_links(
    make_client, opted_in, django_capture_on_commit_callbacks, mailoutbox, settings
):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["evreader.example", "staging.evreader.example", "testserver"]
    settings.EVR_SITE_URL = "https://evreader.example"
    browser = make_client(token="bea-token", HTTP_HOST="staging.evreader.example")

    reply_from(browser, opted_in, django_capture_on_commit_callbacks)

    links = email_links(mailoutbox[0])
    assert links and all(link.startswith("https://evreader.example/") for link in links)


def test_outside_a_request_the_links_use_the_site_url(
    opted_in, add_comment, staff_user, django_capture_on_commit_callbacks, mailoutbox
):
    held = add_comment(
        opted_in.article, "Held reply.", parent=opted_in, reader_token="bea", status="pending"
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.comments_moderate(
            comments=Comment.objects.filter(pk=held.pk),
            status=Comment.Status.APPROVED,
            moderator=staff_user,
        )

    links = email_links(mailoutbox[0])
    assert links[0] == f"{SITE}{held.get_absolute_url()}"
    assert links[1].startswith(f"{SITE}/accounts/unsubscribe/")
