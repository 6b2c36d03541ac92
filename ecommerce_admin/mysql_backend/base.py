"""Django's MySQL backend with a transaction's round trips cut to what its statements need.

Django's backend opens each transaction by turning autocommit off (`SET autocommit=0`), sends
COMMIT, then turns autocommit back on (`SET autocommit=1`): three round trips around every write.
On this machine a round trip costs about 70 µs of the client's CPU and as much of the server's;
those three and the writes a sale never reads back were half of a sale's round trips.

Here the session stays in autocommit and a transaction opens with START TRANSACTION, sent in one
query with the transaction's first statement (the driver allows several statements per query);
COMMIT or ROLLBACK ends it, and there is nothing to turn back on. A transaction that ran no
statement sends nothing.

A statement whose result nobody reads can also wait (`execute_later`): written out, it goes in one
query with the transaction's next statement, or with its COMMIT. An error in it is raised there,
inside the transaction, which then rolls back as for any failed statement; a rollback drops what
has not been sent. `SET TRANSACTION ...` as a transaction's first statement sets that transaction's
isolation, as it did under Django's backend: it goes just before BEGIN. Turning autocommit back on
commits an open transaction, as `SET autocommit=1` does.
"""

import re

from django.db.backends.mysql import base as mysql

BEGIN = "START TRANSACTION"
SETS_NEXT_TRANSACTION = re.compile(r"\s*SET\s+TRANSACTION\b", re.IGNORECASE)


class CursorWrapper(mysql.CursorWrapper):
    """Sends what waits on the connection with the next statement, in one multi-statement query."""

    def __init__(self, cursor, db: "DatabaseWrapper") -> None:
        super().__init__(cursor)
        self.db = db

    def execute(self, query, args=None):
        if not self.db.waiting:
            return super().execute(query, args)
        statement = self.cursor.mogrify(query, args)
        if self.db.waiting == [BEGIN] and SETS_NEXT_TRANSACTION.match(statement):
            # It sets the isolation of the transaction about to open: before BEGIN, and waiting with it.
            self.db.waiting = [statement, BEGIN]
            return 0
        self.run([*self.db.take_waiting(), statement])
        return self.cursor.rowcount

    def executemany(self, query, args):
        if self.db.waiting:
            self.run(self.db.take_waiting())
        return super().executemany(query, args)

    def run(self, statements: list[str]) -> None:
        """Run the statements in one query; the cursor is left on the last one's result."""
        super().execute(";\n".join(statements))
        for _ in statements[1:]:
            try:
                self.cursor.nextset()
            except mysql.Database.OperationalError as error:
                if error.args[0] in self.codes_for_integrityerror:
                    raise mysql.IntegrityError(*tuple(error.args)) from error
                raise


class DatabaseWrapper(mysql.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Statements written out, to send before the next one: BEGIN first while the transaction is unopened.
        self.waiting: list[str] = []
        self.opened = False  # BEGIN reached the server, and no COMMIT or ROLLBACK yet

    def get_connection_params(self) -> dict:
        # The driver opens a connection with autocommit off unless told; Django would then turn it on.
        return {**super().get_connection_params(), "autocommit": True}

    def create_cursor(self, name=None) -> CursorWrapper:
        return CursorWrapper(self.connection.cursor(), self)

    def execute_later(self, sql: str, params=None) -> None:
        """Run `sql` with the transaction's next statement or its COMMIT; at once outside a transaction."""
        if self.get_autocommit():
            with self.cursor() as cursor:
                cursor.execute(sql, params)
            return
        with self.wrap_database_errors:
            self.waiting.append(self.connection.cursor().mogrify(sql, params))

    def take_waiting(self) -> list[str]:
        """What waits, taken off to be sent now (with BEGIN among it, the transaction is then open)."""
        waiting, self.waiting = self.waiting, []
        self.opened = self.opened or BEGIN in waiting
        return waiting

    def _set_autocommit(self, autocommit: bool) -> None:
        if not autocommit:
            self.waiting = [BEGIN]
            return
        if self.opened or self.waiting[-1:] not in ([], [BEGIN]):
            self._commit()  # a transaction managed by hand, ended as `SET autocommit=1` would end it
        self.waiting = []
        if not self.connection.get_autocommit():
            with self.wrap_database_errors:
                self.connection.autocommit(True)

    def _commit(self) -> None:
        if self.connection is None:
            return
        if self.waiting[-1:] == [BEGIN]:
            self.waiting = []  # no statement of this transaction reached the server: nothing to commit
        elif self.waiting:
            # Should this fail, the transaction stays open, so the rollback that follows goes to the server.
            with self.wrap_database_errors:
                cursor = self.create_cursor()
                try:
                    cursor.run([*self.take_waiting(), "COMMIT"])
                finally:
                    cursor.close()
        else:
            super()._commit()
        self.opened = False
        self._open_next_transaction()

    def _rollback(self) -> None:
        if self.connection is None:
            return
        self.waiting = []  # never sent: dropped
        if self.opened:
            super()._rollback()
        self.opened = False
        self._open_next_transaction()

    def _open_next_transaction(self) -> None:
        # Django's atomic turns autocommit back on next; a session managing its own transactions is in the next one.
        if not self.autocommit:
            self.waiting = [BEGIN]

    def _close(self) -> None:
        self.waiting, self.opened = [], False
        super()._close()
