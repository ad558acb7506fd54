"""Test settings: production-like (DEBUG off, MFA required) but over plain HTTP."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault(
    "SECRET_KEY", "tests-only-8b1f0c3e5a7d9f2b4c6e8a0d2f4b6c8e0a2c4e6f8b0d2f4a6c8e0b2d4f6a8c0e"
)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("REQUIRE_MFA", "true")
os.environ.setdefault("SQLITE_TEST_NAME", "")

from openiop.settings import *  # noqa: F403

# Hashed static names need collectstatic; tests serve the source files.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Fast hashing: the suite creates many users; production keeps Django's default hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Nothing is collected in tests; whitenoise serves from the apps' static folders.
STATIC_ROOT = None
