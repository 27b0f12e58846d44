from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "EV Reader editors"
admin.site.site_title = "EV Reader admin"
admin.site.index_title = "Articles, facts and the reader discussion"

urlpatterns = [
    path(settings.ADMIN_URL_PREFIX, admin.site.urls),
    path("accounts/", include("comments.accounts.urls")),
    path("", include("comments.urls")),
    path("", include("articles.urls")),
]
