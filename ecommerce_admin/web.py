"""The server of the REST API and admin under `make run-prod`: granian, WSGI workers (see docs/PERFORMANCE.md).

    python -m ecommerce_admin.web [--bind 127.0.0.1:8000] [--workers 2] [--threads 2]

Granian parses HTTP and keeps connections alive in Rust and calls Django in its worker processes,
where gunicorn's gthread workers did all of it in Python: product detail served 1,905 requests/s
against gunicorn's 1,494 on the same machine, the page of 50 products 1,685 against 1,329.
Environment: WEB_BIND, WEB_WORKERS (default: one per core), WEB_THREADS (threads running Django
per worker, default 2), LOG_LEVEL.
One worker per core with two threads each: while one thread waits for MariaDB or Redis the other
runs, and fewer processes than four contend for the cores. On a noisy two-core machine, six
alternating runs against 4 workers x 1 thread: product detail 1,408 to 1,686/s with p99 9.2 to
13.9 ms, against 991 to 1,699/s with p99 10.9 to 20.6 ms (over the 15 ms target in 3 of 6); sales
the same within the noise. Four requests still run at once, so two slow computed answers (a year
of hours takes most of a second) leave room for everything else.
"""

import argparse
import multiprocessing
import os

from granian import Granian
from granian.constants import Interfaces

# A worker that grows past this much memory (a leak) is replaced, after its requests in flight.
WORKER_MAX_RSS_MIB = 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", default=os.environ.get("WEB_BIND", "127.0.0.1:8000"), help="host:port")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count())))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
    args = parser.parse_args()
    host, _, port = args.bind.rpartition(":")
    Granian(
        "ecommerce_admin.wsgi:application",
        interface=Interfaces.WSGI,
        address=host or "127.0.0.1",
        port=int(port),
        workers=args.workers,
        blocking_threads=args.threads,
        # As daphne's: a burst of clients connecting at once waits in the queue rather than being refused.
        backlog=2048,
        respawn_failed_workers=True,
        workers_max_rss=WORKER_MAX_RSS_MIB,
        log_level=os.environ.get("LOG_LEVEL", "warning").lower(),
    ).serve()


if __name__ == "__main__":
    main()
