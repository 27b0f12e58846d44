"""Comments on the article's claims, in templates: the claims of an article (read once per
request), one claim by its label, and the count of comments on each paragraph and fact card,
which the article's text (cached under the content version only) leaves a slot for. The
count goes in a holder with an id, so that posting or deleting a comment updates it in place."""

import re

from django import template
from django.template.loader import get_template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from articles.selectors import ArticlePage
from comments.claims import LABEL_PATTERN, claims_for, label_name

register = template.Library()

COUNT_SLOT = "<!--evr-claim-count:{}-->"
COUNT_SLOTS = re.compile(r"<!--evr-claim-count:([a-z]+-[0-9]+)-->")
COUNT_TEMPLATE = "articles/_claim_tools.html#claim-count"
COUNT_HOLDER_ID_PREFIX = "claim-count-"


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


def claim_count_holder(article, label, total, *, oob=False, link_template=None):
    """What fills a claim's slot: a holder (empty for no comments) with the link to the
    comments on the claim; `oob` for an htmx response that updates the one on the page."""
    link = ""
    if total:
        link_template = link_template or get_template(COUNT_TEMPLATE)
        link = link_template.render({"article": article, "label": label, "total": total})
    return format_html(
        '<span class="claim-tools__counted" id="{}"{}>{}</span>',
        COUNT_HOLDER_ID_PREFIX + label,
        mark_safe(' hx-swap-oob="true"') if oob else "",
        mark_safe(link.strip()),
    )


@register.simple_tag
def claim_count_update(article, label, total):
    """{% claim_count_update article "p-3" 2 %}: the count under the claim, swapped in place."""
    return claim_count_holder(article, label, total, oob=True)


@register.filter(is_safe=True)
def with_claim_counts(html, counts):
    """The article's HTML with each claim's count of comments in its slot."""
    link_template = get_template(COUNT_TEMPLATE)

    def count_holder(match):
        label = match.group(1)
        total = counts.by_label.get(label)
        return claim_count_holder(counts.article, label, total, link_template=link_template)

    return mark_safe(COUNT_SLOTS.sub(count_holder, str(html)))
