#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    from oms.kernel import config

    with config.exit_on_error():
        settings.INSTALLED_APPS  # noqa: B018 - reading settings validates every environment variable
    try:
        execute_from_command_line(sys.argv)
    except OperationalError:
        # Is it the database itself? Then say which setting points at it, in one line.
        if _uses_database_url(settings):
            with config.exit_on_error():
                config.check_database()
        raise


def _uses_database_url(settings) -> bool:
    return bool(os.environ.get("DATABASE_URL")) or not settings.DATABASES["default"]["ENGINE"].endswith(
        "sqlite3"
    )


if __name__ == "__main__":
    main()
