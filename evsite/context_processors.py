from django.conf import settings


def site(request):
    return {"site_name": settings.EVR_SITE_NAME}
