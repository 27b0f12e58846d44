import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evsite.settings")

django_application = get_wsgi_application()

from evsite.shared_copies import SharedCopies  # noqa: E402  (needs the settings loaded)

# Repeat requests for a cached copy of a page (shared by readers without a session, or a
# guest's own) are answered before Django's request handling (evsite/shared_copies.py).
application = SharedCopies(django_application)

# What loading the site made (settings, URL patterns, models, modules) lives as long as the
# worker: the garbage collector need not walk it again on every collection.
gc.freeze()
