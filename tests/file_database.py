"""Racing tests on a SQLite file: SQLite's in-memory test database is shared between threads
through "shared cache", whose table locks fail at once instead of waiting, which is not how a
clinic's SQLite file behaves. So on an in-memory run a racing test calls
``rerun_on_a_file_database`` first: the session's racing tests run again, all together, in one
child pytest on a file database (``SQLITE_TEST_NAME``), where writers queue on the file lock
as they do in production, and each test reports its own result from there. On PostgreSQL (or
a file) the call returns False and the test runs in place.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _racing_tests(session: pytest.Session) -> list[str]:
    """The node ids of this session's tests that re-run themselves on a file database."""
    return [
        item.nodeid
        for item in session.items
        if "rerun_on_a_file_database"
        in getattr(getattr(item, "function", None), "__code__", _NO_CODE).co_names
    ]


_NO_CODE = (lambda: None).__code__
# node id → failure text ("" when it passed), filled by the one child run of the session.
_FILE_RESULTS: dict[str, str] = {}


def _run_races_on_a_file(request: pytest.FixtureRequest) -> None:
    """Run every racing test of the session in ONE child pytest on a file database: starting
    a child and migrating its database costs seconds, once instead of once per test."""
    nodeids = _racing_tests(request.session) or [request.node.nodeid]
    where = request.getfixturevalue("tmp_path_factory").mktemp("races")
    report = where / "races.xml"
    env = {**os.environ, "SQLITE_TEST_NAME": str(where / "race.sqlite3")}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(  # noqa: S603 - our own interpreter and test ids
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *nodeids,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout[-4000:] + result.stderr[-2000:]
    if not report.exists():
        raise AssertionError(f"the child pytest wrote no report:\n{output}")
    # Our own child wrote this file a moment ago.
    for case in ElementTree.parse(report).getroot().iter("testcase"):  # noqa: S314
        module = case.get("classname", "").replace(".", "/") + ".py"
        problems = [
            f"{part.get('message', '')}\n{part.text or ''}"
            for part in case
            if part.tag in ("failure", "error", "skipped")
        ]
        _FILE_RESULTS[f"{module}::{case.get('name')}"] = "\n".join(problems) or ""
    for nodeid in nodeids:
        _FILE_RESULTS.setdefault(nodeid, f"not run by the child pytest:\n{output}")


def rerun_on_a_file_database(request: pytest.FixtureRequest, tmp_path: Path) -> bool:
    """On in-memory SQLite, run this test again in a child pytest on a file; True if so (and
    it passed there). The first racing test of a session runs them all in one child."""
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        return False
    if request.node.nodeid not in _FILE_RESULTS:
        _run_races_on_a_file(request)
    problem = _FILE_RESULTS[request.node.nodeid]
    assert problem == "", problem[-6000:]
    return True
