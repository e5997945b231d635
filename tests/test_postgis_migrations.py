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


def test_a_version_the_gis_tables_refuse_never_costs_the_state_commit(pg_server):  # noqa: F811
    """A shape PostGIS cannot read (here: not GeoJSON at all) leaves that version out of
    the GIS tables; the change, the active row and ``applied_upto`` still commit, and the
    next version with a good shape is recorded with its geometry."""
    from lalert.model import Alert, Area, EnrichedAlert
    from lalert.store.postgis import PgState
    from lalert.store.state import ChangeRow

    url = pg_server.new_database()
    state = PgState(url)
    square = {"type": "Polygon", "coordinates": [[[130, 32], [131, 32], [131, 33], [130, 32]]]}

    def version(n: int, geometry: dict) -> EnrichedAlert:
        a = Alert(format="cap", id=f"v-{n}", info_type="issue", status="actual", kind="x",
                  title="t", issued_at="2026-07-03T17:00:00+09:00", raw_sha256="ab",
                  areas=(Area(code=None, scheme="cap.polygon", geometry=geometry),))
        return EnrichedAlert(alert=a, areas=a.areas, bbox=(130, 32, 131, 33))

    try:
        for n, geometry in ((1, {"type": "Nonsense", "coordinates": "x"}), (2, square)):
            state.commit(changes=[ChangeRow(n, "now", "new", "issued", "k", f"v-{n}", False, n)],
                         upserts=[("k", f"v-{n}", False, n, b"")], deletes=[], applied_upto=n,
                         versions=[("k", version(n, geometry), False)])
            assert state.applied_upto == n and [r.seq for r in state.changes_after(0)][-1] == n
        with psycopg.connect(url) as c:
            assert [r[0] for r in c.execute("SELECT id FROM alerts ORDER BY id")] == ["v-2"]
            assert c.execute("SELECT id, ST_GeometryType(footprint) FROM alerts_in_force"
                             ).fetchall() == [("v-2", "ST_MultiPolygon")]
    finally:
        state.close()
