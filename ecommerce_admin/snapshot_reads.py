"""Several reads that must see the database as of one moment."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Run the reads inside in one transaction that sees a single snapshot of the data (MariaDB).

    The connections run READ COMMITTED, where each statement sees whatever has committed by its
    start: a figure computed as "a summary row minus some lines" could then count a sale committed
    between the two reads on one side only. REPEATABLE READ (InnoDB's consistent read, fixed at the
    first read) is asked for this transaction alone. Inside an enclosing transaction the reads
    share its isolation, which cannot change mid-way. On SQLite (the try-it default) a transaction
    is IMMEDIATE and would hold off every writer while the reads run: there each read stands alone.
    """
    if connection.in_atomic_block or connection.vendor != "mysql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
