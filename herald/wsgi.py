"""WSGI entry point for production servers (granian in ``herald serve``).

Published artifacts are answered by the front (``herald.publishing.store.serving``)
from this machine's copy, without Django or the database; everything else goes
to Django.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

# Set before the settings load (the one environment access outside herald/settings.py
# here): which settings module to load.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herald.settings")
django_application = get_wsgi_application()

from herald.publishing.store.artifacts import start_warming  # noqa: E402
from herald.publishing.store.serving import front  # noqa: E402  (needs the settings loaded above)

application = front(django_application)
start_warming()  # this process's first publication as fast as the next
