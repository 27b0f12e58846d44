import json
from functools import wraps

from django.contrib import admin, messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from .. import notifications
from ..readers import ip_hash
from ..refusals import Refused
from . import services
from .forms import AccountDeleteForm, AccountEmailForm, SignupForm
from .selectors import activity_page

ACCOUNT_DELETED = "Your account was deleted. Your comments now show as from a deleted reader."
REPLY_EMAILS_STOPPED = "Reply emails are off: you will get no more emails about replies."
EMAIL_SAVED = (
    "Reply emails will go to {email}. Tick “Email me when someone replies” as you post a "
    "comment to get them."
)
EMAIL_REMOVED = "Your email address was removed: you will get no reply emails."


def _safe_next(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return ""


def _answer_refusal(response, refusal):
    """The status and headers of a throttle's refusal on a page that shows its form again."""
    if refusal is not None:
        response.status_code = refusal.status
        for name, value in refusal.headers.items():
            response[name] = value
    return response


def sign_in_throttled(view):
    """For a sign-in view whose form is throttled (forms.ThrottledSignIn), such as Django's
    LoginView or the admin's login: a refused sign-in is answered 429 with `Retry-After`,
    the page and its form (with the message and the username typed) as they are."""

    @wraps(view)
    def throttled(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        return _answer_refusal(response, getattr(form, "refusal", None))

    return throttled


@sign_in_throttled
def admin_login(request, extra_context=None):
    """The admin site's own login view (its look, its staff-only rule), with the same
    sign-in throttle as readers': evsite/urls.py sets `admin.site.login_form` to
    forms.AdminLoginForm and routes the admin's login URL here."""
    return admin.site.login(request, extra_context)


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request):
    """Create a reader account and sign in with it.

    Each account created, and each attempt with a username already taken, counts against
    the address (services.signup_check_allowed): over the limit the page says how long to
    wait (429) and does not say whether the username exists.
    """
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url or "/")
    form = SignupForm(request.POST if request.method == "POST" else None)
    refusal = None
    if request.method == "POST":
        valid = form.is_valid()
        if valid or form.tells_username_taken:
            try:
                services.signup_check_allowed(ip_hash=ip_hash(request))
            except Refused as refused:
                refusal = refused
                typed = {name: request.POST.get(name, "") for name in ("username", "email")}
                form = SignupForm(initial=typed)
        if valid and refusal is None:
            try:
                with transaction.atomic():
                    user = form.save()
            except IntegrityError:  # the same name, taken by a simultaneous sign-up
                form.add_error("username", form.username_taken_error())
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return HttpResponseRedirect(next_url or "/")
    status = 422 if form.is_bound else 200
    response = render(
        request,
        "registration/signup.html",
        {"form": form, "next": next_url, "refusal": refusal},
        status=status,
    )
    return _answer_refusal(response, refusal)


def _account_data_response(request, email_form, status=200):
    context = {
        "counts": services.account_activity_counts(user=request.user),
        "email_form": email_form,
        "next": _safe_next(request),
    }
    response = render(request, "accounts/account_data.html", context, status=status)
    add_never_cache_headers(response)
    return response


@login_required
@require_safe
def account_data_page(request):
    """The reader's data page: what the site keeps about them, the download, the address for
    reply emails, and the way to close the account."""
    email_form = AccountEmailForm(initial={"email": request.user.email})
    return _account_data_response(request, email_form)


@login_required
@require_POST
def account_email(request):
    """Set or remove the address for reply emails (the form on the data page); then back to
    the page the reader came from (`next`: the comment form's note), or to the data page."""
    form = AccountEmailForm(request.POST)
    if not form.is_valid():
        return _account_data_response(request, form, status=422)
    email = form.cleaned_data["email"]
    services.account_email_set(user=request.user, email=email)
    messages.success(request, EMAIL_SAVED.format(email=email) if email else EMAIL_REMOVED)
    return redirect(_safe_next(request) or "account_data")


@login_required
@require_safe
def account_data_download(request):
    """Everything kept about the reader's account, as a JSON file to save."""
    data = services.account_data(user=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(
        True, services.account_data_filename()
    )
    add_never_cache_headers(response)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def account_delete(request):
    """Close the reader's account: a confirmation page asks for their password; only the
    POST deletes. Afterwards the reader is signed out and told what happened."""
    user = request.user
    try:
        services.account_check_can_delete(user=user)
    except Refused as refusal:
        return render(
            request, "accounts/account_delete.html", {"refusal": refusal}, status=refusal.status
        )
    form = AccountDeleteForm(
        request.POST if request.method == "POST" else None, user=user, request=request
    )
    if request.method == "POST" and form.is_valid():
        services.account_delete(user=user)
        logout(request)
        messages.success(request, ACCOUNT_DELETED)
        return redirect("/")
    context = {"form": form, "counts": services.account_activity_counts(user=user)}
    status = 422 if form.is_bound else 200
    response = render(request, "accounts/account_delete.html", context, status=status)
    add_never_cache_headers(response)
    return _answer_refusal(response, form.refusal)


@login_required
@require_safe
def account_activity(request):
    """The reader's comments, in every status, with the replies to them; and the way to stop
    reply emails."""
    context = {
        "page": activity_page(user=request.user, page_number=request.GET.get("page", 1)),
        "notifying": notifications.reply_notices_count(user=request.user),
    }
    response = render(request, "accounts/activity.html", context)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def account_reply_emails_stop(request):
    notifications.reply_notices_stop(user=request.user)
    messages.success(request, REPLY_EMAILS_STOPPED)
    return redirect("account_activity")


# Mail programs send a one-click unsubscribe as a POST without cookies (RFC 8058): the
# signed token is what says who asks, so there is no CSRF token to check.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def reply_emails_unsubscribe(request, token):
    """An email's unsubscribe link: turns reply emails off at once, no sign-in needed; a
    link this site did not make gets a 400 page that says so."""
    try:
        notifications.reply_notices_unsubscribe(token)
    except signing.BadSignature:
        response = render(request, "accounts/unsubscribe.html", {"valid": False}, status=400)
    else:
        response = render(request, "accounts/unsubscribe.html", {"valid": True})
    add_never_cache_headers(response)
    return response
