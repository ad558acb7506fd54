"""``openiop serve``: collects static files, then execs gunicorn."""

from __future__ import annotations

import sys
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from openiop.accounts.management.commands import serve


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def call_command(self, name: str, **options: Any) -> None:
        self.calls.append(("call_command", name, options))

    def execvp(self, file: str, argv: list[str]) -> None:
        self.calls.append(("execvp", file, argv))


@pytest.fixture
def recorder(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(serve, "call_command", recorder.call_command)
    monkeypatch.setattr(serve.os, "execvp", recorder.execvp)
    return recorder


def run(*args: str) -> str:
    out = StringIO()
    call_command("serve", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_collects_static_files_then_execs_gunicorn(recorder):
    output = run("--host", "0.0.0.0", "--port", "9000", "--workers", "3")  # noqa: S104
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "openiop.wsgi:application",
        "--bind",
        "0.0.0.0:9000",
        "--workers",
        "3",
        "--access-logfile",
        "-",
    ]
    assert recorder.calls == [
        ("call_command", "collectstatic", {"interactive": False, "verbosity": 0}),
        ("execvp", sys.executable, argv),
    ]
    assert output == "Serving OpenIOP on http://0.0.0.0:9000 with 3 gunicorn workers.\n"


def test_it_binds_to_localhost_port_8000_by_default(recorder):
    run()
    _, _, argv = recorder.calls[-1]
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000"
    assert 1 <= int(argv[argv.index("--workers") + 1]) <= 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "--port 70000 is not a TCP port"),
        (["--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_it_refuses_bad_options_before_doing_anything(recorder, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert recorder.calls == []


def test_it_stops_when_collectstatic_fails(recorder, monkeypatch):
    def broken(name: str, **options: Any) -> None:
        raise ValueError("The file 'vendor/x.js.map' could not be found.")

    monkeypatch.setattr(serve, "call_command", broken)
    with pytest.raises(CommandError) as raised:
        run()
    assert str(raised.value) == (
        "collectstatic failed: The file 'vendor/x.js.map' could not be found."
    )
    assert recorder.calls == []
