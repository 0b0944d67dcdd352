"""WSGI entry point for production servers (granian in ``herald serve``)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herald.settings")
application = get_wsgi_application()
