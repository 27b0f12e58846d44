from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        views.sign_in_throttled(
            auth_views.LoginView.as_view(
                authentication_form=LoginForm,
                redirect_authenticated_user=True,
                # LoginView names the site after the request's host; the pages use ours.
                extra_context={"site_name": settings.EVR_SITE_NAME},
            )
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("data/", views.account_data_page, name="account_data"),
    path("data/email/", views.account_email, name="account_email"),
    path("data/download/", views.account_data_download, name="account_data_download"),
    path("delete/", views.account_delete, name="account_delete"),
    path("activity/", views.account_activity, name="account_activity"),
    path(
        "activity/reply-emails/stop/",
        views.account_reply_emails_stop,
        name="account_reply_emails_stop",
    ),
    path("unsubscribe/<str:token>/", views.reply_emails_unsubscribe, name="unsubscribe"),
]
