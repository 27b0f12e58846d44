from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.utils import timezone

from comments.models import BannedWord, Comment, ReaderControl
from comments.moderation import (
    URL_PATTERN,
    Verdict,
    banned_words_in,
    comment_verdict,
    count_links,
)
from comments.readers import Reader, can_moderate

GUEST_TOKEN = "a" * 32
APPROVED = Comment.Status.APPROVED
PENDING = Comment.Status.PENDING


@pytest.fixture
def verdict(article):
    def decide(body="A thoughtful comment about small EVs.", **overrides):
        arguments = {
            "article": article,
            "body": body,
            "user": None,
            "reader_token": GUEST_TOKEN,
            "ip_hash": "f" * 64,
            "honeypot_filled": False,
            "too_fast": False,
        }
        arguments.update(overrides)
        user = arguments.pop("user")
        arguments["reader"] = Reader(
            user=user if user is not None and user.is_authenticated else None,
            token=arguments.pop("reader_token"),
            ip_hash=arguments.pop("ip_hash"),
        )
        return comment_verdict(**arguments)

    return decide


def test_an_ordinary_comment_is_approved(verdict, reader):
    assert verdict() == Verdict(APPROVED)
    assert verdict(user=reader, reader_token="") == Verdict(APPROVED)


def test_an_anonymous_user_object_counts_as_a_guest(verdict):
    assert verdict(user=AnonymousUser(), body="See https://example.com").status == PENDING


def test_a_filled_honeypot_is_saved_as_spam(verdict):
    result = verdict(honeypot_filled=True)
    assert result.status == Comment.Status.SPAM
    assert not result.refuse
    assert result.is_held


def test_a_form_sent_too_fast_is_refused_with_a_message_so_the_text_can_be_posted_again(verdict):
    result = verdict(too_fast=True)
    assert result.refuse
    assert "post it again" in result.reason


def test_honeypot_wins_over_too_fast_so_bots_get_no_hint(verdict):
    result = verdict(honeypot_filled=True, too_fast=True)
    assert result.status == Comment.Status.SPAM
    assert not result.refuse


def test_two_links_are_fine_for_a_signed_in_reader_but_three_are_held(verdict, reader):
    two = "Compare https://one.example/a and www.two.example please."
    three = two + " Also http://three.example/"
    assert verdict(body=two, user=reader, reader_token="").status == APPROVED
    held = verdict(body=three, user=reader, reader_token="")
    assert held.status == PENDING
    assert "more than 2 links" in held.reason
    assert not held.refuse


def test_a_banned_word_holds_the_comment_and_names_the_word(verdict):
    BannedWord.objects.create(word="Scam")
    held = verdict(body="This car is a SCAM, honestly.")
    assert held.status == PENDING
    assert "“Scam”" in held.reason


def test_banned_words_match_whole_words_only(verdict):
    BannedWord.objects.create(word="ass")
    assert verdict(body="The class of small cars will pass the test.").status == APPROVED
    assert verdict(body="What an ass.").status == PENDING


def test_banned_phrases_and_punctuation_are_escaped(article):
    BannedWord.objects.create(word="c.o.d")
    BannedWord.objects.create(word="cheap pills")
    assert banned_words_in("cod is a fish") == []
    assert banned_words_in("Buy Cheap  Pills") == []
    assert banned_words_in("Buy cheap pills, pay c.o.d!") == ["c.o.d", "cheap pills"]


def test_a_guests_first_comment_with_a_link_is_held(verdict):
    held = verdict(body="My review: https://example.com/review")
    assert held.status == PENDING
    assert "first comment" in held.reason


def test_a_guest_with_an_approved_comment_may_post_a_link(verdict, article, add_comment):
    add_comment(article, "An earlier comment.", reader_token=GUEST_TOKEN, status=PENDING)
    assert verdict(body="See www.example.com").status == PENDING
    add_comment(article, "Approved before.", reader_token=GUEST_TOKEN, status=APPROVED)
    assert verdict(body="See www.example.com").status == APPROVED


def test_another_guests_approved_comment_does_not_vouch_for_this_guest(
    verdict, article, add_comment
):
    add_comment(article, "An earlier comment.", reader_token="b" * 32, status=APPROVED)
    assert verdict(body="See www.example.com").status == PENDING


def test_the_same_text_twice_within_an_hour_is_refused(verdict, article, add_comment):
    add_comment(article, "Range matters more than anything.", reader_token=GUEST_TOKEN)
    result = verdict(body="  range matters\nmore than ANYTHING. ")
    assert result.refuse
    assert "same comment" in result.reason


def test_the_same_text_after_an_hour_or_from_another_reader_is_fine(
    verdict, article, reader, add_comment
):
    add_comment(
        article,
        "Range matters more than anything.",
        reader_token=GUEST_TOKEN,
        created_at=timezone.now() - timedelta(minutes=61),
    )
    add_comment(article, "Price matters most.", reader_token="b" * 32)
    add_comment(article, "Charging matters most.", user=reader)
    assert verdict(body="Range matters more than anything.") == Verdict(APPROVED)
    assert verdict(body="Price matters most.") == Verdict(APPROVED)
    assert verdict(body="Charging matters most.") == Verdict(APPROVED)


def test_a_signed_in_readers_duplicate_is_refused_on_any_article(
    verdict, make_article, reader, add_comment
):
    add_comment(make_article(), "Same words everywhere.", user=reader)
    assert verdict(body="Same words everywhere.", user=reader, reader_token="").refuse


def test_a_deleted_comment_may_be_posted_again(verdict, article, add_comment):
    add_comment(
        article, "Posted in the wrong thread.", reader_token=GUEST_TOKEN, deleted_at=timezone.now()
    )
    assert verdict(body="Posted in the wrong thread.") == Verdict(APPROVED)


def test_an_edit_is_not_a_duplicate_of_the_comment_being_edited(
    verdict, article, reader, add_comment
):
    own = add_comment(article, "great little car", user=reader)
    fixed = verdict(body="Great  little CAR", user=reader, reader_token="", editing=own)
    assert fixed == Verdict(APPROVED)
    assert verdict(body="Great  little CAR", user=reader, reader_token="").refuse


def test_an_edited_comment_does_not_vouch_for_its_own_new_link(verdict, article, add_comment):
    own = add_comment(article, "Nice article.", reader_token=GUEST_TOKEN, status=APPROVED)
    edited = verdict(body="Nice article. Buy at www.example.com", editing=own)
    assert edited.status == PENDING
    assert "first comment" in edited.reason


def test_a_banned_reader_is_refused(verdict, reader):
    ReaderControl.objects.create(user=reader, is_banned=True)
    result = verdict(user=reader, reader_token="")
    assert result.refuse
    assert "can no longer post" in result.reason


def test_a_reader_on_premoderation_is_held(verdict, reader, make_user):
    ReaderControl.objects.create(user=reader, always_premoderate=True)
    assert verdict(user=reader, reader_token="").status == PENDING
    assert verdict(user=make_user("other"), reader_token="").status == APPROVED


def test_site_wide_premoderation_holds_everything(verdict, reader, settings):
    settings.EVR_PREMODERATION = True
    held = verdict(user=reader, reader_token="")
    assert held.status == PENDING
    assert "moderator" in held.reason


def test_every_hold_reason_is_given_and_fits_the_field(verdict, settings):
    settings.EVR_PREMODERATION = True
    BannedWord.objects.create(word="scam")
    held = verdict(body="scam https://a.example https://b.example https://c.example")
    assert held.status == PENDING
    for part in ("checked by a moderator before", "more than 2 links", "“scam”", "first comment"):
        assert part in held.reason
    assert len(held.reason) <= Comment._meta.get_field("hold_reason").max_length


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("https://example.com/a?b=1#c", ["https://example.com/a?b=1#c"]),
        ("HTTP://EXAMPLE.COM/", ["HTTP://EXAMPLE.COM/"]),
        ("visit www.example.org.", ["www.example.org"]),
        ("(see https://en.wikipedia.org/wiki/EV)", ["https://en.wikipedia.org/wiki/EV"]),
        ("a, https://x.example/, b", ["https://x.example/"]),
        ('"https://x.example"<b>', ["https://x.example"]),
        ("ftp://files.example and mail@www.example.com", []),
        ("https:// and www. alone", []),
        ("example.com without a scheme", []),
    ],
)
def test_url_pattern_finds_what_readers_see_as_links(text, links):
    assert [match.group(0) for match in URL_PATTERN.finditer(text)] == links
    assert count_links(text) == len(links)


def test_can_moderate_needs_staff_and_the_change_permission(make_user):
    reader = make_user("plain")
    staff_without_permission = make_user("staff", is_staff=True)
    moderator = make_user("moderator", is_staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="change_comment"))
    permission_but_not_staff = make_user("not-staff")
    permission_but_not_staff.user_permissions.add(Permission.objects.get(codename="change_comment"))
    superuser = make_user("boss", is_staff=True, is_superuser=True)

    assert not can_moderate(AnonymousUser())
    assert not can_moderate(None)
    assert not can_moderate(reader)
    assert not can_moderate(staff_without_permission)
    assert not can_moderate(permission_but_not_staff)
    assert can_moderate(type(moderator).objects.get(pk=moderator.pk))
    assert can_moderate(superuser)
