"""Production static files: collectstatic with hashed names must succeed for `openiop serve`."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def test_it_collects_static_files_with_hashed_names(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0, stdout=StringIO())
    manifest = (tmp_path / "staticfiles.json").read_text()
    for name in [
        "openiop/app.css",
        "openiop/app.js",
        "vendor/bootstrap-5.3.9/bootstrap.min.css",
        "vendor/htmx-2.0.11/htmx.min.js",
        "ninja/swagger-ui-bundle.js",
    ]:
        assert f'"{name}"' in manifest
    assert list(tmp_path.glob("openiop/app.*.css.gz"))
