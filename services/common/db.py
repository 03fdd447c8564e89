"""Async SQLAlchemy engines (SQLite by default, PostgreSQL in production), the models' metadata
and the storage form of code lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from services.common import telemetry

# Batch migrations on SQLite need named constraints (Alembic docs).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


# Code lists (competences, languages) are stored as ",a,b," strings: portable across
# SQLite and PostgreSQL, filterable with one LIKE, and decoded in one place.
def encode_codes(values: list[str] | tuple[str, ...]) -> str:
    return "," + ",".join(values) + "," if values else ""


def decode_codes(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, instrument: bool = True, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    else:
        engine = create_async_engine(
            url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs
        )
    if instrument:
        telemetry.instrument_engine(engine.sync_engine)
    return engine


WRITE = {"justnet_write": True}  # Session.connection(execution_options=WRITE)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling starts transactions only before DML, so a
    # read-check-write would run its read outside the transaction. Take control:
    # SQLAlchemy's "begin" event below emits BEGIN itself (SQLAlchemy docs, pysqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the single writer; NORMAL is durable in WAL mode
    # except for the last transactions on power loss, not on process crash.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A write transaction takes SQLite's write lock at once (IMMEDIATE), so two writers
    # queue instead of both reading the same version; reads begin deferred.
    immediate = conn.get_execution_options().get("justnet_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
