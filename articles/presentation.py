def article_page_context(article, request):
    paragraphs = list(article.paragraphs.all())
    return {
        "article": article,
        "body_paragraphs": [p for p in paragraphs if p.kind == "body"],
    }


def facts_as_json(article, request):
    return {}
