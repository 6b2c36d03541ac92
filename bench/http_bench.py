"""HTTP benchmark: every hot and analytics endpoint through a real server, with wrk.

    python bench/http_bench.py [--lines 1000000] [--database NAME] [--connections 8] [--duration 10]
                               [--only "top products,dashboard"] [--floors]
    ANALYTICS_CACHE_SECONDS=0 python bench/http_bench.py ...   # every analytics answer computed
    python bench/http_bench.py --sales-per-second 2 ...          # reads while a store sells

Seeds a store of the asked size in its own database (once; reused while the size matches),
starts the server layout of `make run-prod` with DEBUG off, takes a JWT, then runs wrk against
each endpoint and prints throughput and latency percentiles as a Markdown table. The sale
recording run posts 3-line sales of well-stocked products with 16 connections and checks
afterwards that nothing oversold and the ledger still sums to the stock. With --floors it also
times the floor SQL: the plain GROUP BY over a year of lines, and the summary reads. With
--sales-per-second N, one more client records a 1-line sale N times a second during every read
run: each sale retires the cached answers, as in a store that is selling. The server's output
goes to a log file, and the warnings and errors it logged are counted at the end: a non-2xx
answer in a run shows there with its cause.
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BENCH_USER, BENCH_PASSWORD = "bench", "bench-pass-123"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="sale lines in the store")
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--categories", type=int, default=40)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--database", default=None, help="database name (default shopdesk_bench_<lines>)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", os.cpu_count())))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
    parser.add_argument("--only", default="", help="comma-separated endpoint names to run")
    parser.add_argument("--floors", action="store_true", help="also time the floor SQL of the analytics")
    parser.add_argument("--sales-per-second", type=float, default=0, help="record sales during the read runs")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    database = args.database or f"shopdesk_bench_{args.lines}"
    env = {
        **os.environ,
        "DATABASE_URL": f"mysql://root@127.0.0.1:3306/{database}",
        # The production layout shares Redis between workers (cache, channel layer); without it the
        # analytics answers are not cached (ANALYTICS_CACHE_SECONDS=0 measures them computed every time).
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # The benchmark is the only client: the per-user write throttle would cap the sale run.
        "THROTTLE_WRITES": "1000000/min",
    }
    prepare_store(env, database, args)
    log_path = Path(tempfile.gettempdir()) / f"http_bench-{os.getpid()}.log"
    with open(log_path, "w+b") as log:
        server = start_server(env, args, log)
        args.server_pid = server.pid
        try:
            token = obtain_token(args.port)
            results = run_endpoints(args, token, env)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        log.seek(0)
        problems = logged_problems(log.read().decode(errors="replace"))
    print_table(results, args, database)
    print(f"\nserver log: {log_path}; warnings and errors logged: {problems or 'none'}")
    if args.floors:
        print_floors(database)


def manage(env: dict, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=check, text=True,
                          capture_output=True)  # fmt: skip


def prepare_store(env: dict, database: str, args) -> None:
    subprocess.run(
        ["mariadb", "-uroot", "-h127.0.0.1", "-e",
         f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"],
        check=True,
    )  # fmt: skip
    manage(env, "migrate", "--noinput")
    count = manage(env, "shell", "-c", "from sales.models import SaleLine; print(SaleLine.objects.count())")
    # Fewer lines than asked: seed. More: the sale run of an earlier benchmark added some; keep them.
    if int(count.stdout.strip().splitlines()[-1]) < args.lines:
        print(f"Seeding {args.lines:,} sale lines into {database} ...", flush=True)
        started = time.monotonic()
        subprocess.run(
            [PYTHON, "manage.py", "seed_demo", "--reset", f"--sales={args.lines}", f"--products={args.products}",
             f"--categories={args.categories}", f"--days={args.days}", "--seed=1"],
            cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)
    manage(
        env, "shell", "-c",
        "from django.contrib.auth import get_user_model as g; U = g(); "
        f"U.objects.filter(username='{BENCH_USER}').exists() or "
        f"U.objects.create_superuser('{BENCH_USER}', 'bench@example.com', '{BENCH_PASSWORD}')",
    )  # fmt: skip


def start_server(env: dict, args, log) -> subprocess.Popen:
    command = [PYTHON, "-m", "ecommerce_admin.web", "--bind", f"127.0.0.1:{args.port}",
               "--workers", str(args.workers), "--threads", str(args.threads)]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("the server did not start")


# A record of the project's logging format (settings LOGGING): "<date> <time> LEVEL logger: message".
LOGGED = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) (\S+): ([^:]*)")


def logged_problems(log: str) -> dict[str, int]:
    """How many warnings and errors the server logged, by level, logger and the message's first words.

    A non-2xx answer in a run shows here with its cause: "ERROR django.request: Internal Server
    Error" for a 500, the exception handler's warning for a 503, and so on.
    """
    problems = collections.Counter()
    for line in log.splitlines():
        match = LOGGED.match(line)
        if match:
            problems[f"{match[1]} {match[2]}: {match[3]}"] += 1
    return dict(problems)


def obtain_token(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/token/",
        data=json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    return json.load(urllib.request.urlopen(request))["access"]


def endpoints(args) -> list[tuple[str, str]]:
    end = date.today()
    year = f"start_date={end - timedelta(days=364)}&end_date={end}"
    return [
        ("product detail", "/api/v1/products/{product}/"),
        ("product list (50)", "/api/v1/products/?page_size=50"),
        ("analytics, day, 1 year", f"/api/v1/sales/analytics/?interval=day&{year}"),
        ("analytics, month, 1 year", f"/api/v1/sales/analytics/?interval=month&{year}"),
        ("analytics, week, 1 year, channel", f"/api/v1/sales/analytics/?interval=week&channel=web&{year}"),
        ("comparison, month", "/api/v1/sales/revenue/comparison/?period=month"),
        ("comparison, year by category", "/api/v1/sales/revenue/comparison/?period=year&by=category"),
        ("by category, 1 year", f"/api/v1/sales/by-category/?{year}"),
        ("top products, 1 year", f"/api/v1/sales/top-products/?{year}&limit=10"),
        ("sales trends, 366 days", "/api/v1/insights/sales-trends/?days=366"),
        ("category performance, 30 days", "/api/v1/insights/category-performance/?days=30"),
        ("stock management", "/api/v1/insights/stock-management/"),
        ("low stock", "/api/v1/inventory/low-stock/"),
        ("sale list (50, unfiltered)", "/api/v1/sales/?page_size=50"),
        ("ledger list (50, unfiltered)", "/api/v1/inventory/changes/?page_size=50"),
        ("dashboard snapshot", "/api/v1/insights/dashboard/"),
        ("analytics, hour, 1 year (raw lines)", f"/api/v1/sales/analytics/?interval=hour&{year}"),
        ("analytics, product filter, 1 year (raw)", f"/api/v1/sales/analytics/?product={{product}}&{year}"),
        ("record a 3-line sale", "SALE"),
    ]


LUA_SALE = """
local products = {%s}
local n = 0
request = function()
  n = n + 1
  local a = products[(n %% #products) + 1]
  local b = products[((n + 7) %% #products) + 1]
  local c = products[((n + 13) %% #products) + 1]
  local body = string.format('{"lines":[{"product":%%d,"quantity":1},{"product":%%d,"quantity":1},' ..
    '{"product":%%d,"quantity":1}],"channel":"pos"}', a, b, c)
  return wrk.format("POST", nil, {["Content-Type"]="application/json", ["Authorization"]="Bearer %s"}, body)
end
"""


def run_endpoints(args, token: str, env: dict) -> list[dict]:
    product = manage(env, "shell", "-c", "from catalog.models import Product; print(Product.objects.order_by('id')"
                     ".values_list('id', flat=True)[10])").stdout.strip().splitlines()[-1]  # fmt: skip
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    results = []
    for name, path in endpoints(args):
        if only and not any(o in name for o in only):
            continue
        if path == "SALE":
            results.append(run_sales(args, token, env))
            continue
        url = f"http://127.0.0.1:{args.port}{path.format(product=product)}"
        check = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}))
        assert check.status == 200, (name, check.status)
        with SalesMeanwhile(args, token, product) as sales:
            results.append({"name": name, "path": path.format(product=product), **wrk(args, url, token)})
        report(results[-1], f" while {sales.recorded} sales were recorded" if args.sales_per_second else "")
    return results


class SalesMeanwhile:
    """A client recording a 1-line sale `args.sales_per_second` times a second, while the block runs."""

    def __init__(self, args, token: str, product: str) -> None:
        self.gap = 1 / args.sales_per_second if args.sales_per_second else None
        self.request = urllib.request.Request(
            f"http://127.0.0.1:{args.port}/api/v1/sales/",
            data=json.dumps({"lines": [{"product": int(product), "quantity": 1}]}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        self.recorded = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sell, daemon=True)

    def sell(self) -> None:
        next_sale = time.monotonic()
        while not self.stop.wait(max(0.0, next_sale - time.monotonic())):
            with urllib.request.urlopen(self.request) as response:
                assert response.status == 201, response.status
            self.recorded += 1
            next_sale += self.gap

    def __enter__(self) -> "SalesMeanwhile":
        if self.gap:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.gap:
            self.thread.join()


def run_sales(args, token: str, env: dict) -> dict:
    ids = manage(
        env, "shell", "-c",
        "from inventory.models import StockLevel; from inventory.services import stock_adjust; "
        "from inventory.models import MovementReason; from catalog.models import Product; "
        "ps = list(Product.objects.filter(is_active=True).order_by('id')[:200]); "
        "[stock_adjust(product=p, delta=100000, reason=MovementReason.RESTOCK) for p in ps]; "
        "print(','.join(str(p.pk) for p in ps))",
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA_SALE % (ids, token))
    url = f"http://127.0.0.1:{args.port}/api/v1/sales/"
    connections_before = args.connections
    args.connections = 16
    cpu_before = cpu_seconds(args.server_pid)
    try:
        result = {"name": "record a 3-line sale (16 writers)", "path": "POST /api/v1/sales/",
                  **wrk(args, url, token, script=script.name)}  # fmt: skip
        cpu_after = cpu_seconds(args.server_pid)
    finally:
        args.connections = connections_before
        os.unlink(script.name)
    check = manage(env, "shell", "-c", "from inventory.selectors import ledger_violations as v; print(len(v()))")
    result["ledger_violations"] = int(check.stdout.strip().splitlines()[-1])
    sales = result["rps"] * args.duration
    result["cpu_ms"] = {name: (cpu_after[name] - cpu_before[name]) / sales * 1000 for name in cpu_before}
    cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in result["cpu_ms"].items())
    report(result, f" ledger violations {result['ledger_violations']}; CPU ms per sale: {cpu}")
    return result


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU time used so far by the server's processes, and by mariadbd and redis-server (all their clients')."""
    parents, used, names = {}, {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().rsplit(")", 1)
        except OSError:  # the process has exited meanwhile
            continue
        pid, fields = int(stat.parent.name), fields.split()
        parents[pid], names[pid] = int(fields[1]), name.split("(", 1)[1]
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    totals = {"server": 0.0, "mariadbd": 0.0, "redis": 0.0}
    for pid, seconds in used.items():
        ancestor = pid
        while ancestor not in (server_pid, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == server_pid:
            totals["server"] += seconds
        elif names[pid] == "mariadbd":
            totals["mariadbd"] += seconds
        elif names[pid] == "redis-server":
            totals["redis"] += seconds
    return totals


def report(result: dict, extra: str = "") -> None:
    print(f"{result['name']:45s} {result['rps']:8.0f}/s  p50 {result['p50']:7.1f} ms  p99 {result['p99']:7.1f} ms  "
          f"non-2xx {result['errors']}{extra}", flush=True)  # fmt: skip


def wrk(args, url: str, token: str, script: str | None = None) -> dict:
    command = ["wrk", f"-c{args.connections}", f"-t{min(2, args.connections)}", f"-d{args.duration}s", "--latency",
               "-H", f"Authorization: Bearer {token}", url]  # fmt: skip
    if script:
        command[1:1] = ["-s", script]
    output = subprocess.run(command, check=True, text=True, capture_output=True).stdout
    percentiles = {p: _ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M)}
    if "99" not in percentiles:
        raise RuntimeError(f"wrk printed no latency distribution:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50": percentiles["50"],
        "p99": percentiles["99"],
        "errors": int(errors.group(1)) if errors else 0,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


# What the database alone needs for a year of figures: the lines scanned by a plain GROUP BY (what
# the replaced system did on every request), and the summaries the endpoints read.
FLOORS = [
    ("lines: revenue by day, 1 year", "SELECT DATE(sold_at), SUM(line_total), SUM(quantity), COUNT(DISTINCT sale_id) "
     "FROM sales_saleline WHERE sold_at >= %(start)s AND sold_at < %(end)s GROUP BY 1"),
    ("lines: revenue by category, 1 year", "SELECT category_id, SUM(line_total), SUM(quantity) FROM sales_saleline "
     "WHERE sold_at >= %(start)s AND sold_at < %(end)s GROUP BY 1"),
    ("lines: revenue by hour, 1 year", "SELECT DATE_FORMAT(sold_at, '%%Y-%%m-%%d %%H'), SUM(line_total) "
     "FROM sales_saleline WHERE sold_at >= %(start)s AND sold_at < %(end)s GROUP BY 1"),
    ("summary: by day, 1 year (day x channel)", "SELECT day, SUM(gross_revenue), SUM(orders) FROM insights_dailysales "
     "WHERE day >= %(start)s AND day < %(end)s GROUP BY 1"),
    ("summary: by category, 1 year (month x category)", "SELECT category_id, SUM(gross_revenue) "
     "FROM insights_monthlycategorysales WHERE month >= %(start)s AND month < %(end)s GROUP BY 1"),
    ("summary: by category, 1 year (day x category)", "SELECT category_id, SUM(gross_revenue) "
     "FROM insights_dailycategorysales WHERE day >= %(start)s AND day < %(end)s GROUP BY 1"),
    ("summary: by hour, 1 year (hour x channel)", "SELECT hour, SUM(gross_revenue) FROM insights_hourlysales "
     "WHERE hour >= %(start)s AND hour < %(end)s GROUP BY 1"),
    ("summary: by product, 1 year (month x product)", "SELECT product_id, SUM(gross_revenue) "
     "FROM insights_monthlyproductsales WHERE month >= %(start)s AND month < %(end)s GROUP BY 1"),
]  # fmt: skip


def print_floors(database: str) -> None:
    import MySQLdb

    end = date.today() + timedelta(days=1)
    bounds = {"start": str(end - timedelta(days=365)), "end": str(end)}
    connection = MySQLdb.connect(host="127.0.0.1", user="root", database=database)
    cursor = connection.cursor()
    print()
    print("| floor query | best of up to 3 runs, ms | rows |")
    print("|---|---:|---:|")
    for name, sql in FLOORS:
        timings = []
        while len(timings) < 3 and sum(timings) < 2000:  # one run is enough for the slow scans
            started = time.perf_counter()
            rows = cursor.execute(sql, bounds)
            cursor.fetchall()
            timings.append((time.perf_counter() - started) * 1000)
        print(f"| {name} | {min(timings):.1f} | {rows:,} |", flush=True)
    connection.close()


def print_table(results: list[dict], args, database: str) -> None:
    cache_seconds = os.environ.get("ANALYTICS_CACHE_SECONDS", "600")
    cache = "analytics answers cached" if cache_seconds != "0" else "analytics cache off (every answer computed)"
    if args.sales_per_second:
        cache += f", {args.sales_per_second:g} sales/s recorded during each read run"
    print()
    print(f"{args.lines:,} sale lines ({database}), {args.connections} connections, {args.duration} s each, "
          f"granian {args.workers} workers x {args.threads} threads, DEBUG off, JWT, {cache}")  # fmt: skip
    print()
    print("| endpoint | req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} |")


if __name__ == "__main__":
    main()
