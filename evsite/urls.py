from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from comments import feeds
from comments.accounts.forms import AdminLoginForm
from comments.accounts.views import admin_login
from evsite import errors, health

admin.site.site_header = "EV Reader editors"
admin.site.site_title = "EV Reader admin"
admin.site.index_title = "Articles, facts and the reader discussion"
# The admin's sign-in counts failures and locks like the readers' (comments/accounts/).
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    # Before the admin's own URLs, so its login URL ("admin:login") is answered here.
    path(f"{settings.ADMIN_URL_PREFIX}login/", admin_login),
    path(settings.ADMIN_URL_PREFIX, admin.site.urls),
    path("accounts/", include("comments.accounts.urls")),
    path("feeds/articles.atom", feeds.articles_feed, name="feed_articles"),
    path(
        "articles/<slug:slug>/comments.atom",
        feeds.article_comments_feed,
        name="feed_article_comments",
    ),
    path("", include("comments.urls")),
    path("", include("articles.urls")),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
