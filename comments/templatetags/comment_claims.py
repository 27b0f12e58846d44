"""Comments on the article's claims, in templates: the claims of an article (read once per
request), one claim by its label, and the count of comments on each paragraph and fact card,
which the article's text (cached under the content version only) leaves a slot for."""

import re

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from articles.selectors import ArticlePage
from comments.claims import LABEL_PATTERN, claims_for, label_name

register = template.Library()

COUNT_SLOT = "<!--evr-claim-count:{}-->"
COUNT_SLOTS = re.compile(r"<!--evr-claim-count:([a-z]+-[0-9]+)-->")
COUNT_TEMPLATE = "articles/_claim_tools.html#claim-count"


@register.simple_tag(takes_context=True)
def article_claims(context, article):
    """{% article_claims article as claims %}: its paragraphs and fact cards, and the car
    model names comments link."""
    page = context.get("page")
    if not (isinstance(page, ArticlePage) and page.article.pk == article.pk):
        page = None
    version = context.get("content_version") if page is not None else None
    return claims_for(context.get("request"), article, page=page, version=version)


@register.filter
def claim(claims, label):
    """{% with claim=claims|claim:"p-3" %}: the claim, or None for no such label."""
    return claims.get(label) if claims is not None else None


@register.filter
def claim_name(label):
    """A label in words: "paragraph 3", "key point 1", "this fact"."""
    return label_name(label)


@register.simple_tag
def claim_count_slot(label):
    """Where the count of comments on `label` goes, filled by `with_claim_counts`."""
    if not LABEL_PATTERN.match(label):
        raise template.TemplateSyntaxError(f"Not a claim label: {label!r}")
    return mark_safe(COUNT_SLOT.format(label))


class ClaimCounts:
    def __init__(self, comment_section):
        self.article = comment_section.article
        self.by_label = comment_section.claim_counts


@register.simple_tag
def comments_on_claims(comment_section):
    """{% comments_on_claims comment_section as counts %}: how many comments respond to each
    paragraph and fact card of its article."""
    return ClaimCounts(comment_section)


@register.filter(is_safe=True)
def with_claim_counts(html, counts):
    """The article's HTML with each claim's count of comments in its slot (none for none)."""

    def count_link(match):
        label = match.group(1)
        total = counts.by_label.get(label)
        if not total:
            return ""
        context = {"article": counts.article, "label": label, "total": total}
        return render_to_string(COUNT_TEMPLATE, context).strip()

    return mark_safe(COUNT_SLOTS.sub(count_link, str(html)))
