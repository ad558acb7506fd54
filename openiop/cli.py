"""The `openiop` command: Django's management commands with OpenIOP's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openiop.settings")
    if len(argv) > 1 and argv[1] == "makemigrations":
        # Writing migrations is development work on a checkout, never a production start:
        # it needs no secret key, so it runs with the development settings unless told.
        os.environ.setdefault("DEBUG", "true")
    if len(argv) > 1 and argv[1] == "demo":
        # The demo runs on a laptop over plain HTTP: debug on, and the second factor off
        # (the command says so when it starts). Explicit environment values still win.
        os.environ.setdefault("DEBUG", "true")
        os.environ.setdefault("REQUIRE_MFA", "false")
    if len(argv) > 1 and "-" in argv[1] and not argv[1].startswith("-"):
        # Commands are spelled with hyphens in the docs (`openiop generate-sessions`);
        # Django names them after their modules, with underscores.
        argv[1] = argv[1].replace("-", "_")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    # Django would swallow a settings error here and fail later with an unrelated traceback;
    # say what is wrong in one line instead.
    try:
        settings.INSTALLED_APPS  # noqa: B018 - loading the settings is the point
    except ImproperlyConfigured as exc:
        hint = " (for local development, set DEBUG=true)" if "DEBUG is off" in str(exc) else ""
        sys.stderr.write(f"openiop: configuration error: {exc}{hint}\n")
        raise SystemExit(2) from None

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
