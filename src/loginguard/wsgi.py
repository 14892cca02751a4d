import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loginguard.settings")
application = get_wsgi_application()


def _warm_up() -> None:
    # Compile the User-Agent parser's regexes when a server process starts, not on the
    # first sign-in it handles (about half a second). Imported here, lazy because the app
    # registry is ready only once get_wsgi_application() has run above.
    from loginguard.devices.fingerprint import families

    families("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36")


_warm_up()
