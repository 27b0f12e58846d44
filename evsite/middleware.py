from django.conf import settings

# Every script and style is a static file, so pages need no 'unsafe-inline'. The admin's own
# templates still use a few inline styles, so it gets a slightly looser style policy.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
ADMIN_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


def content_security_policy(get_response):
    admin_prefix = f"/{settings.ADMIN_URL_PREFIX}"

    def middleware(request):
        response = get_response(request)
        policy = (
            ADMIN_CONTENT_SECURITY_POLICY
            if request.path.startswith(admin_prefix)
            else CONTENT_SECURITY_POLICY
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return middleware
