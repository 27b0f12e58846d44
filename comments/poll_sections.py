def poll_section_context(request, article):
    return {}
