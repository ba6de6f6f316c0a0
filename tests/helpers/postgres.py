"""Connect to the test PostgreSQL server and inspect what target-postgres loaded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

HOST = "127.0.0.1"
PORT = 5432
DATABASE = "test"
# The server trusts local connections. Machines differ in which role exists,
# so each user is tried in this order.
USERS = ("postgres", "root")

# Columns that target-postgres adds to every table (add_record_metadata).
METADATA_PREFIX = "_sdc_"


@dataclass
class Postgres:
    """An open autocommit connection to the test database and the role it uses."""

    connection: psycopg.Connection
    user: str

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg://{self.user}@{HOST}:{PORT}/{DATABASE}"

    def query(self, statement: str | sql.Composable, params: Any = None) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def tables(self, schema: str) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        )
        return {name for (name,) in rows}

    def row_count(self, schema: str, table: str) -> int:
        statement = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        return self.query(statement)[0][0]

    def column_types(self, schema: str, table: str, *, metadata: bool = False) -> dict[str, str]:
        """Return column name -> information_schema data_type, without `_sdc_` columns by default."""
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        )
        return {
            name: data_type
            for name, data_type in rows
            if metadata or not name.startswith(METADATA_PREFIX)
        }

    def column_names(self, schema: str, table: str, *, metadata: bool = False) -> set[str]:
        return set(self.column_types(schema, table, metadata=metadata))

    def primary_key(self, schema: str, table: str) -> list[str]:
        rows = self.query(
            "SELECT kcu.column_name FROM information_schema.table_constraints tc"
            " JOIN information_schema.key_column_usage kcu"
            "   ON kcu.constraint_schema = tc.constraint_schema"
            "  AND kcu.constraint_name = tc.constraint_name"
            " WHERE tc.constraint_type = 'PRIMARY KEY'"
            "   AND tc.table_schema = %s AND tc.table_name = %s"
            " ORDER BY kcu.ordinal_position",
            (schema, table),
        )
        return [name for (name,) in rows]

    def column_values(self, schema: str, table: str, column: str) -> list[Any]:
        statement = sql.SQL("SELECT {} FROM {}").format(
            sql.Identifier(column), sql.Identifier(schema, table)
        )
        return [value for (value,) in self.query(statement)]

    def drop_schema(self, schema: str) -> None:
        self.query(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def connect() -> Postgres:
    """Connect to the test database as the first role in USERS that the server accepts.

    Raises the last psycopg.OperationalError when no role can connect.
    """
    last_error: psycopg.OperationalError | None = None
    for user in USERS:
        try:
            connection = psycopg.connect(
                host=HOST,
                port=PORT,
                dbname=DATABASE,
                user=user,
                autocommit=True,
                connect_timeout=5,
            )
        except psycopg.OperationalError as error:
            last_error = error
            continue
        return Postgres(connection, user)
    assert last_error is not None
    raise last_error
