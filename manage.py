#!/usr/bin/env python
"""Django's command-line utility for MediaHooks."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:  # bad configuration: say which variable, without a traceback
        sys.exit(f"Configuration error: {exc}")


if __name__ == "__main__":
    main()
