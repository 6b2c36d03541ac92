"""The MySQL backend opens a transaction with its first statement, ends it with one COMMIT; waiting writes go along."""

from contextlib import contextmanager

import MySQLdb
import pytest
from django.db import IntegrityError, connection, transaction

from ecommerce_admin.db_insert import execute_later

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

TABLE = "test_backend_rows"


@pytest.fixture
def table(django_db_blocker):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {TABLE} (id INT PRIMARY KEY, note VARCHAR(50) NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")


@pytest.fixture
def sent(monkeypatch, table):
    """What the driver sends for Django's connection, in order: queries, commit(), rollback(), autocommit(on)."""
    sent = []
    driver = MySQLdb.connections.Connection

    def spy(name, record):
        real = getattr(driver.__base__, name)

        def call(self, *args):
            if self is connection.connection:
                sent.append(record(*args))
            return real(self, *args)

        monkeypatch.setattr(driver, name, call)

    spy("query", _text)
    spy("commit", lambda: "commit()")
    spy("rollback", lambda: "rollback()")
    spy("autocommit", lambda on: f"autocommit({on})")
    return sent


def _text(query) -> str:
    return query.decode() if isinstance(query, bytes) else query


def rows() -> list[tuple]:
    """The committed rows, read on a connection of its own."""
    with _elsewhere() as cursor:
        cursor.execute(f"SELECT id, note FROM {TABLE} ORDER BY id")
        return list(cursor.fetchall())


def _commit_elsewhere(sql: str) -> None:
    with _elsewhere() as cursor:
        cursor.execute(sql)


@contextmanager
def _elsewhere():
    settings = connection.get_connection_params()
    other = MySQLdb.connect(
        **{key: settings[key] for key in ("host", "port", "user", "password", "database") if key in settings},
        autocommit=True,
    )
    try:
        with other.cursor() as cursor:
            yield cursor
    finally:
        other.close()


class Abandoned(Exception):
    """Raised inside a transaction to roll it back."""


def in_transaction(*writes) -> None:
    """Run each write (a function of a cursor) in one transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        for write in writes:
            write(cursor)


def abandon(cursor) -> None:
    raise Abandoned


def later(row_id: int, note: str):
    return lambda cursor: execute_later(cursor, f"INSERT INTO {TABLE} (id, note) VALUES (%s, %s)", [row_id, note])


def insert(cursor, row_id: int, note: str = "") -> None:
    cursor.execute(f"INSERT INTO {TABLE} (id, note) VALUES (%s, %s)", [row_id, note])


def test_a_transaction_opens_with_its_first_statement_and_ends_with_one_commit(sent):
    with transaction.atomic(), connection.cursor() as cursor:
        insert(cursor, 1)
        insert(cursor, 2)

    assert sent == [
        f"START TRANSACTION;\nINSERT INTO {TABLE} (id, note) VALUES (1, '')",
        f"INSERT INTO {TABLE} (id, note) VALUES (2, '')",
        "commit()",
    ]
    assert rows() == [(1, ""), (2, "")]


def test_a_transaction_that_ran_no_statement_sends_nothing(sent):
    in_transaction()
    with pytest.raises(Abandoned):
        in_transaction(abandon)

    assert sent == []


def test_a_failed_transaction_rolls_back_what_it_sent(sent):
    with pytest.raises(Abandoned):
        in_transaction(lambda cursor: insert(cursor, 1), abandon)

    assert sent[-1] == "rollback()"
    assert rows() == []


def test_a_waiting_write_goes_with_the_commit(sent):
    with transaction.atomic(), connection.cursor() as cursor:
        insert(cursor, 1)
        execute_later(cursor, f"UPDATE {TABLE} SET note = %s WHERE id = %s", ["later", 1])
        assert sent == [f"START TRANSACTION;\nINSERT INTO {TABLE} (id, note) VALUES (1, '')"]

    assert sent[1:] == [f"UPDATE {TABLE} SET note = 'later' WHERE id = 1;\nCOMMIT"]
    assert rows() == [(1, "later")]


def test_a_waiting_write_goes_before_the_next_statement_which_sees_it(sent):
    with transaction.atomic(), connection.cursor() as cursor:
        execute_later(cursor, f"INSERT INTO {TABLE} (id, note) VALUES (%s, %s)", [1, "a"])
        execute_later(cursor, f"INSERT INTO {TABLE} (id, note) VALUES (%s, %s)", [2, "b"])
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE note IN (%s, %s)", ["a", "b"])
        assert cursor.fetchone() == (2,)

    assert sent == [
        f"START TRANSACTION;\nINSERT INTO {TABLE} (id, note) VALUES (1, 'a');\n"
        f"INSERT INTO {TABLE} (id, note) VALUES (2, 'b');\nSELECT COUNT(*) FROM {TABLE} WHERE note IN ('a', 'b')",
        "commit()",
    ]


def test_values_are_written_out_as_the_driver_escapes_them(sent):
    awkward = "100% 'quoted' \\ %s ; --"
    with transaction.atomic(), connection.cursor() as cursor:
        execute_later(cursor, f"INSERT INTO {TABLE} (id, note) VALUES (%s, %s)", [1, awkward])
        cursor.execute(f"SELECT note FROM {TABLE} WHERE note LIKE %s", ["100%%"])
        assert cursor.fetchone() == (awkward,)

    assert rows() == [(1, awkward)]


def test_an_error_in_a_waiting_write_fails_the_commit_and_rolls_the_transaction_back(sent):
    with pytest.raises(IntegrityError):
        in_transaction(lambda cursor: insert(cursor, 1), later(1, "duplicate"))

    assert sent[-1] == "rollback()"
    assert rows() == []
    assert connection.get_autocommit()


def test_an_error_in_a_waiting_write_is_raised_by_the_next_statement(sent):
    with pytest.raises(IntegrityError):
        in_transaction(
            lambda cursor: execute_later(cursor, f"INSERT INTO {TABLE} (id, note) VALUES (%s, NULL)", [1]),
            lambda cursor: cursor.execute("SELECT 1"),
        )

    assert rows() == []


def test_a_rollback_drops_what_waits_and_sends_nothing_if_nothing_was_sent(sent):
    with pytest.raises(Abandoned):
        in_transaction(later(1, "dropped"), abandon)

    assert sent == []
    in_transaction(lambda cursor: insert(cursor, 2))
    assert rows() == [(2, "")]


def test_a_rolled_back_savepoint_undoes_its_waiting_writes(sent):
    def savepoint_rolled_back(cursor):
        with pytest.raises(Abandoned):
            in_transaction(later(2, "undone"), abandon)

    in_transaction(lambda cursor: insert(cursor, 1), savepoint_rolled_back, later(3, "kept"))

    assert rows() == [(1, ""), (3, "kept")]


def test_outside_a_transaction_a_later_write_runs_at_once(sent):
    with connection.cursor() as cursor:
        execute_later(cursor, f"INSERT INTO {TABLE} (id, note) VALUES (%s, %s)", [1, "now"])

    assert rows() == [(1, "now")]


def test_the_session_stays_in_autocommit_between_transactions(sent):
    with transaction.atomic(), connection.cursor() as cursor:
        insert(cursor, 1)
    with connection.cursor() as cursor:
        insert(cursor, 2)  # committed on its own, as in Django's default autocommit mode
        cursor.execute("SELECT @@autocommit")
        assert cursor.fetchone() == (1,)

    assert rows() == [(1, ""), (2, "")]
    assert not any(call.startswith("autocommit(") for call in sent)


def test_a_new_connection_starts_in_autocommit(table):
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@autocommit")
        assert cursor.fetchone() == (1,)


def test_manual_transactions_open_a_new_transaction_after_each_commit(sent):
    transaction.set_autocommit(False)
    try:
        with connection.cursor() as cursor:
            insert(cursor, 1)
            transaction.commit()
            insert(cursor, 2)
            transaction.rollback()
    finally:
        transaction.set_autocommit(True)

    assert rows() == [(1, "")]


def test_setting_the_isolation_first_sets_that_transactions_and_costs_no_round_trip(sent):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        before = cursor.fetchone()
        _commit_elsewhere(f"INSERT INTO {TABLE} (id, note) VALUES (1, 'elsewhere')")
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        assert cursor.fetchone() == before == (0,)  # one snapshot: a repeatable read

    assert sent[0] == (
        f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;\nSTART TRANSACTION;\nSELECT COUNT(*) FROM {TABLE}"
    )


def test_turning_autocommit_back_on_commits_a_transaction_managed_by_hand(sent):
    transaction.set_autocommit(False)
    with connection.cursor() as cursor:
        insert(cursor, 1)
        execute_later(cursor, f"INSERT INTO {TABLE} (id, note) VALUES (%s, %s)", [2, "waiting"])
    transaction.set_autocommit(True)

    assert rows() == [(1, ""), (2, "waiting")]
    with connection.cursor() as cursor:
        insert(cursor, 3)
    assert rows() == [(1, ""), (2, "waiting"), (3, "")]
