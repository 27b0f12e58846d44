"""Comments on the article's own claims: each paragraph and fact card is known by the label
of its anchor on the page ("k-1", "p-3", "fact-12"), with a short quote of it; how many
comments respond to each; and the car model names comment text links to.

What comes from the article is read in two small queries (paragraphs; facts with their car
models), or taken from the article page that just read them, and kept under the CONTENT
version, in this worker's memory and the shared cache. The counts come with the comment
section's other counts (selectors.comment_counts: one GROUP BY query, kept under the
DISCUSSION version). A page asks once per request (`claims_for`), never once per comment,
paragraph or fact.
"""

import re
import time
from dataclasses import dataclass
from functools import cached_property

from django.core.cache import cache
from django.db.models import Case, F, Value, When
from django.utils.text import Truncator

from articles.models import Fact, Paragraph
from articles.selectors import fact_cards
from evsite.caching import CONTENT, LocalCache, versions

from .models import Comment
from .ratelimit import CACHE_ERRORS
from .text import NameLinks

LABEL_PATTERN = re.compile(r"\A(?:[kp]-[1-9][0-9]{0,4}|fact-[1-9][0-9]{0,12})\Z")
FACT_PREFIX = Fact.ANCHOR_PREFIX
# The ids of the links that list the comments on a claim ("claim-comments-p-3"), or all again.
CLAIM_COMMENTS_ID_PREFIX = "claim-comments-"
QUOTE_WORDS = 30
CLAIMS_TTL = 60 * 60
ANCHOR_UNKNOWN = (
    "This comment responded to a part of the article that is not there any more, so that "
    "reference was taken off. Post it again to publish it without one: your text is still here."
)

_in_memory = LocalCache(size=32)


@dataclass(frozen=True)
class Claim:
    """A paragraph or fact card a comment can respond to."""

    label: str  # its anchor on the article page: "p-3"
    name: str  # "Paragraph 3", "Key point 1", "Model fact"
    quote: str  # the paragraph's first words, or the fact's statement
    url: str  # the article page at it: "/articles/…/#p-3"

    @property
    def in_words(self):
        """What it is, in a sentence: "paragraph 3", "key point 1", "a model fact"."""
        return "a model fact" if self.label.startswith(FACT_PREFIX) else self.name.lower()


def label_name(label):
    """What a label names, in words for a link: "paragraph 3", "key point 1", "this fact"."""
    if label.startswith(FACT_PREFIX):
        return "this fact"
    kind, number = label.split("-", 1)
    return f"{'key point' if kind == 'k' else 'paragraph'} {number}"


def _paragraph_claims(paragraphs):
    """{label: (name, quote)} for these paragraphs."""
    return {
        paragraph.anchor: (paragraph.label, Truncator(paragraph.text).words(QUOTE_WORDS))
        for paragraph in paragraphs
    }


def _fact_claims(cards, car_models):
    """The fact cards, {label: statement}, and the names of the article's car models,
    [(name, model slug)]."""
    names = []
    for car_model in car_models:
        aliases = [alias.strip() for alias in car_model.aliases.split(",")]
        names += [(name, car_model.slug) for name in [car_model.name, *aliases] if name]
    return {"cards": {fact.anchor: fact.statement for fact in cards}, "names": names}


def _read_paragraph_claims(article_id):
    paragraphs = Paragraph.objects.filter(article_id=article_id).only("kind", "position", "text")
    return _paragraph_claims(paragraphs)


def _read_fact_claims(article_id):
    """In one query, with the article page's rule for which facts have a card."""
    facts = list(Fact.objects.filter(article_id=article_id).select_related("car_model__platform"))
    car_models = {fact.car_model_id: fact.car_model for fact in facts if fact.car_model}
    return _fact_claims(fact_cards(facts), car_models.values())


def _page_has_read(page, *names):
    return page is not None and all(name in vars(page) for name in names)


class ArticleClaims:
    """The claims of one article as of one CONTENT version; each part is read only when
    asked for, then kept for that version. When the article page (`page`, an
    articles.selectors.ArticlePage) has just read the article to render it, a part missing
    from the caches is taken from what it read instead of being read again."""

    unknown_anchor_message = ANCHOR_UNKNOWN

    def __init__(self, article, *, page=None, version=None):
        """`version`: the CONTENT version read before `page` read the article, if any."""
        self.article = article
        self.page = page
        if version is None:
            found = versions(CONTENT)  # before any part is read: a part is never older
            version = found[0] if found else None
        # Without the shared cache nothing is kept: a key never seen before renders afresh.
        self._keep = version is not None and not str(version).startswith("unknown-")
        self.version = version if self._keep else f"unknown-{time.time_ns()}"

    def _part(self, name, build):
        key = f"evr:claims:{name}:{self.article.pk}:{self.version}"
        if not self._keep:
            return build()
        found = _in_memory.get(key)
        if found is None:
            try:
                found = cache.get_or_set(key, build, CLAIMS_TTL)
            except CACHE_ERRORS:
                found = build()
            _in_memory.set(key, found, CLAIMS_TTL)
        return found

    @cached_property
    def _paragraphs(self):
        def build():
            if _page_has_read(self.page, "key_points", "body_paragraphs"):
                return _paragraph_claims([*self.page.key_points, *self.page.body_paragraphs])
            return _read_paragraph_claims(self.article.pk)

        return self._part("paragraphs", build)

    @cached_property
    def _facts(self):
        def build():
            if _page_has_read(self.page, "model_rows", "fact_groups"):
                cards = [fact for _, facts in self.page.fact_groups for fact in facts]
                car_models = [row.car_model for row in self.page.model_rows]
                return _fact_claims(cards, car_models)
            return _read_fact_claims(self.article.pk)

        return self._part("facts", build)

    def url(self, label):
        return f"{self.article.get_absolute_url()}#{label}"

    def get(self, label):
        """The claim this label names on the article page, or None."""
        if not isinstance(label, str) or not LABEL_PATTERN.match(label):
            return None
        if label.startswith(FACT_PREFIX):
            statement = self._facts["cards"].get(label)
            if statement is None:
                return None
            return Claim(label, "Model fact", statement, self.url(label))
        found = self._paragraphs.get(label)
        if found is None:
            return None
        name, quote = found
        return Claim(label, name, quote, self.url(label))

    @cached_property
    def names(self):
        """The car model names comment text links to the model's row on the article page."""
        key = f"evr:claims:names:{self.article.pk}:{self.version}"
        found = _in_memory.get(key) if self._keep else None
        if found is None:
            page = self.article.get_absolute_url()
            found = NameLinks((name, f"{page}#model-{slug}") for name, slug in self._facts["names"])
            if self._keep:
                _in_memory.set(key, found, CLAIMS_TTL)
        return found


def claims_for(request, article, *, page=None, version=None):
    """The article's claims, read once for this request (None: for this call only) however
    many comments show them. `page`: the ArticlePage rendering the article, if any, with the
    CONTENT `version` read before it read the article."""
    page = page if version is not None else None
    if request is None:
        return ArticleClaims(article, page=page, version=version)
    known = request.__dict__.setdefault("evr_article_claims", {})
    if article.pk not in known:
        known[article.pk] = ArticleClaims(article, page=page, version=version)
    elif page is not None and known[article.pk].page is None:
        # Read before it, so what the page read is no older than the claims' version.
        known[article.pk].page = page
    return known[article.pk]


def on_claim_for_every_reader():
    """For a comment, the label of what it responds to when every reader sees it there (a
    listed, undeleted, approved top-level comment), else "": grouped by, it gives the counts
    under the article's claims (selectors.comment_counts)."""
    return Case(
        When(parent__isnull=True, status=Comment.Status.APPROVED, then=F("anchor")),
        default=Value(""),
    )
