"""Retry a whole database transaction that MariaDB rolled back for a deadlock or a lock wait timeout."""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)

DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
RETRYABLE = {DEADLOCK, LOCK_WAIT_TIMEOUT}
ATTEMPTS = 3
BACKOFF_SECONDS = 0.05

P = ParamSpec("P")
R = TypeVar("R")


def mysql_error_code(error: BaseException) -> int | None:
    args = getattr(error.__cause__, "args", None) or error.args
    return args[0] if args and isinstance(args[0], int) else None


def retry_on_deadlock(func: Callable[P, R]) -> Callable[P, R]:
    """Run func again (up to ATTEMPTS times in all) when its transaction lost a deadlock or a lock wait.

    Safe because nothing of a failed attempt survives: func must open the outermost transaction
    itself, so when the caller is already inside one (whose other writes would be lost, or kept
    twice) the error is raised at once instead. The last error propagates, and the API answers it
    with a 503 and Retry-After.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS + 1):
            in_outer_transaction = transaction.get_connection().in_atomic_block
            try:
                return func(*args, **kwargs)
            except OperationalError as error:
                if in_outer_transaction or mysql_error_code(error) not in RETRYABLE or attempt == ATTEMPTS:
                    raise
                delay = BACKOFF_SECONDS * 2 ** (attempt - 1) * (1 + random.random())
                logger.warning(
                    "%s: attempt %d lost to MariaDB error %s, retrying in %.2fs",
                    func.__qualname__,
                    attempt,
                    mysql_error_code(error),
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    return wrapper
