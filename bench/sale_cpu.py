"""The server's own cost of recording a 3-line sale, without HTTP or a load generator beside it.

    python bench/sale_cpu.py [--database shopdesk_bench_1000000] [--sales 1000] [--warm 100]

Calls the project's WSGI application in this process, as a granian worker does, with the request
`bench/http_bench.py` sends (POST /api/v1/sales/, a JWT, three well-stocked products), and prints
the CPU time and wall time per sale. The store is the one `bench/http_bench.py` seeded (it also
made the `bench` user); its sales are real and stay in it.

On a shared two-core machine a run's CPU time varies by about a tenth, more than most changes
of a sale's code. Instructions do not: run it under callgrind twice, with and without sales, and
divide the difference by the number of sales:

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/sale_cpu.py --warm 30 --sales 0
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python bench/sale_cpu.py --warm 30 --sales 200

("Collected" in each run's output; the setup and the warm-up cancel out).
"""

import argparse
import io
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="shopdesk_bench_1000000")
    parser.add_argument("--sales", type=int, default=1000, help="sales measured")
    parser.add_argument("--warm", type=int, default=100, help="sales recorded first, not measured")
    args = parser.parse_args()

    os.environ.update(
        {
            "DATABASE_URL": f"mysql://root@127.0.0.1:3306/{args.database}",
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "ALLOWED_HOSTS": "127.0.0.1",
            "THROTTLE_WRITES": "1000000/min",
            "DJANGO_SETTINGS_MODULE": "ecommerce_admin.settings.base",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.handlers.wsgi import WSGIHandler
    from rest_framework_simplejwt.tokens import AccessToken

    from inventory.models import StockLevel

    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        sys.exit(f"No bench user in {args.database}: run bench/http_bench.py once to seed the store.")
    products = list(StockLevel.objects.filter(quantity__gt=1000).values_list("product_id", flat=True)[:200])
    if len(products) < 3:
        sys.exit(f"{args.database} has fewer than 3 well-stocked products.")
    authorization = f"Bearer {AccessToken.for_user(user)}"
    application = WSGIHandler()
    randomness = random.Random(1)

    def record_sale() -> None:
        first, second, third = randomness.sample(products, 3)
        lines = [
            {"product": first, "quantity": 1},
            {"product": second, "quantity": 2},
            {"product": third, "quantity": 1},
        ]
        body = json.dumps({"lines": lines, "channel": "web"}).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/sales/", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json", "HTTP_AUTHORIZATION": authorization,
        }  # fmt: skip
        statuses = []
        b"".join(application(environ, lambda status, headers: statuses.append(status)))
        if not statuses[0].startswith("201"):
            raise RuntimeError(f"The sale was answered {statuses[0]}")

    for _ in range(args.warm):
        record_sale()
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    for _ in range(args.sales):
        record_sale()
    if args.sales:
        cpu = (time.process_time() - started_cpu) / args.sales * 1000
        wall = (time.perf_counter() - started_wall) / args.sales * 1000
        print(f"{args.sales} sales in {args.database}: CPU {cpu:.2f} ms, wall {wall:.2f} ms per sale")


if __name__ == "__main__":
    main()
