"""Schema migrations of the PostgreSQL store: a database made by the schema before
migrations (001: what ``CREATE TABLE IF NOT EXISTS`` built) keeps every row when the
store opens it and brings it to the latest version; a second open changes nothing."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from lalert.store import migrations
from tests.backends import pg_server  # noqa: F401 (fixture)


@pytest.fixture
def empty_db(pg_server):  # noqa: F811
    name = f"m_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server.url(), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    pg_server.created.append(name)
    return pg_server.url(name)


def _previous_schema(url: str) -> None:
    """Exactly what the code before migrations ran: 001's DDL, no ``schema_version``."""
    (_, _, sql), *_ = migrations.migrations()
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(sql)


def _fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("INSERT INTO messages (received_at, source, sender, sha256, size, raw, outcome,"
                  " format, alert_ids, alerts) VALUES ('2026-07-03T08:00:00+00:00', 'http',"
                  " 'desk', 'ab', 3, 'xyz', 'accepted', 'cap', '[\"a-1\"]', 'blob')")
        c.execute("INSERT INTO changes VALUES (1, '2026-07-03T08:00:00Z', 'new', 'issued',"
                  " 'cap|a-1', 'a-1', false, 1)")
        c.execute("INSERT INTO active VALUES ('cap|a-1', 'a-1', false, 1, '')")
        c.execute("INSERT INTO meta VALUES ('applied_upto', '1')")
        c.execute("INSERT INTO cursors VALUES ('webhook', 1)")
        c.execute("INSERT INTO outbox VALUES ('webhook', 'k', 'done', '', '2026-07-03')")
        c.execute("INSERT INTO subscriptions (id, channel, record, created_at, point, radius_m)"
                  " VALUES ('s1', 'webhook', '{}', '2026-07-03',"
                  " 'SRID=4326;POINT(130.7 32.8)'::geography, 500)")


def _dump(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as c:
        return {t: c.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("messages", "changes", "active", "meta", "cursors", "outbox")} | {
            "subscriptions": c.execute(
                "SELECT id, channel, record, ST_AsText(point), radius_m FROM subscriptions")
            .fetchall()}


def test_upgrade_from_the_schema_before_migrations_keeps_every_row(empty_db):
    _previous_schema(empty_db)
    _fill(empty_db)
    before = _dump(empty_db)
    assert migrations.migrate(empty_db) == list(range(1, migrations.latest() + 1))
    assert _dump(empty_db) == before
    with psycopg.connect(empty_db) as c:
        assert migrations.current_version(c) == migrations.latest()
        assert c.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0  # 002 is there
    assert migrations.migrate(empty_db) == []  # already current: nothing runs twice
    assert _dump(empty_db) == before


def test_upgrade_step_by_step_and_a_failed_step_changes_nothing(empty_db):
    assert migrations.migrate(empty_db, upto=1) == [1]
    _fill(empty_db)
    before = _dump(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as c:
        c.execute("CREATE TABLE facilities (x int)")  # 002 will collide with this …
    with pytest.raises(psycopg.errors.DuplicateTable):
        migrations.migrate(empty_db)
    with psycopg.connect(empty_db) as c:  # … and roll back whole: still version 1
        assert migrations.current_version(c) == 1
        assert c.execute("SELECT to_regclass('shelters') IS NOT NULL").fetchone()[0]
    with psycopg.connect(empty_db, autocommit=True) as c:
        c.execute("DROP TABLE facilities")
    assert migrations.migrate(empty_db) == list(range(2, migrations.latest() + 1))
    assert _dump(empty_db) == before


def test_migrations_are_numbered_without_gaps():
    numbers = [n for n, _, _ in migrations.migrations()]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2
