from django.conf import settings


def require_secret_key() -> None:
    """Servers refuse to start without a signing key (development has a default).

    Reading an empty ``SECRET_KEY`` makes Django raise ImproperlyConfigured ("The SECRET_KEY
    setting must not be empty"); maintenance commands that never read it still run.
    """
    settings.SECRET_KEY  # noqa: B018
