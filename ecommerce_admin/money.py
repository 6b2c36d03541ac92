"""Amounts of money as the database returns them, to the cent."""

from decimal import Decimal

CENT = Decimal("0.01")


def cents(amount: Decimal | float | int) -> Decimal:
    """A DECIMAL value or sum read from the database, to the cent.

    MariaDB returns Decimal; SQLite returns a float or an int, read through its shortest text
    (19.99, not 19.989999999999998...).
    """
    return Decimal(str(amount)).quantize(CENT)
