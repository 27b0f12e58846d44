def comment_section_context(request, article):
    return {}
