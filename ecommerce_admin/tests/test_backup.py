"""Backup and restore as the README documents them: mysqldump, a fresh database, check_integrity on it."""

import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import MySQLdb
import pytest
from django.db import connection

from catalog.tests.factories import ProductFactory
from inventory.models import MovementReason
from inventory.services import stock_adjust
from sales import services
from sales.tests.factories import sell

pytestmark = [pytest.mark.mysql, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
DUMP = shutil.which("mariadb-dump") or shutil.which("mysqldump")
CLIENT = shutil.which("mariadb") or shutil.which("mysql")
CHECKED_TABLES = [
    "catalog_category",
    "catalog_product",
    "catalog_historicalproduct",
    "inventory_stocklevel",
    "inventory_stockmovement",
    "sales_sale",
    "sales_saleline",
    "sales_refund",
    "sales_refundline",
    "auth_group_permissions",
]


def client_args() -> list[str]:
    database = connection.settings_dict
    args = [f"--host={database['HOST'] or '127.0.0.1'}", f"--port={database['PORT'] or 3306}"]
    args.append(f"--user={database['USER']}")
    if database["PASSWORD"]:
        args.append(f"--password={database['PASSWORD']}")
    return args


def checksums(database: str) -> dict[str, tuple]:
    params = connection.get_connection_params()
    params.pop("init_command", None)
    params["database"] = database
    with MySQLdb.connect(**params) as raw:
        cursor = raw.cursor()
        result = {}
        for table in CHECKED_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
            count = cursor.fetchone()[0]
            cursor.execute(f"CHECKSUM TABLE `{table}`")
            result[table] = (count, cursor.fetchone()[1])
        return result


def manage_on(database_name: str, *command: str) -> subprocess.CompletedProcess:
    """Run a manage.py command as an operator would, on another database of the same server."""
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    url = f"mysql://{credentials}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 3306}/{database_name}"
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "ecommerce_admin.settings.test"},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def restore_database():
    name = f"{connection.settings_dict['NAME']}_restore"
    subprocess.run([CLIENT, *client_args(), "-e", f"DROP DATABASE IF EXISTS `{name}`"], check=True)
    yield name
    subprocess.run([CLIENT, *client_args(), "-e", f"DROP DATABASE IF EXISTS `{name}`"], check=True)


def test_a_dump_restored_into_a_fresh_database_is_identical_and_passes_check_integrity(tmp_path, restore_database):
    mug, tea = ProductFactory(initial_stock=30, price=Decimal("7.50")), ProductFactory(initial_stock=12)
    stock_adjust(product=tea, delta=-2, reason=MovementReason.DAMAGE)
    sale = sell((mug, 3), (tea, 1))
    sell((mug, 2), channel="pos")
    services.sale_refund(sale=sale, lines=[{"line": sale.lines.get(product=mug), "quantity": 1}])
    dump = tmp_path / "shopdesk.sql"
    source = connection.settings_dict["NAME"]

    # The README's commands: a consistent dump without locking writers, then a restore into a new database.
    with dump.open("w") as out:
        subprocess.run(
            [DUMP, *client_args(), "--single-transaction", "--routines", "--triggers", source],
            stdout=out,
            check=True,
        )
    subprocess.run(
        [CLIENT, *client_args(), "-e", f"CREATE DATABASE `{restore_database}` CHARACTER SET utf8mb4"], check=True
    )
    with dump.open() as dumped:
        subprocess.run([CLIENT, *client_args(), restore_database], stdin=dumped, check=True)

    check = manage_on(restore_database, "check_integrity")
    pending = manage_on(restore_database, "migrate", "--check", "--plan")

    assert check.returncode == 0, check.stdout + check.stderr
    assert "check_integrity: all 10 checks passed." in check.stdout
    assert pending.returncode == 0, pending.stdout + pending.stderr  # every migration is recorded as applied
    assert checksums(restore_database) == checksums(source)
    assert checksums(source)["sales_sale"][0] == 2


def test_check_integrity_on_a_restored_database_fails_when_the_dump_was_cut_short(tmp_path, restore_database):
    """A dump that lost its last tables (a full disk, an interrupted copy) is caught, not served."""
    mug = ProductFactory(initial_stock=10)
    sell((mug, 4))
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "partial.sql"
    with dump.open("w") as out:  # every table but the stock ledger
        subprocess.run(
            [
                DUMP,
                *client_args(),
                "--single-transaction",
                source,
                "--ignore-table",
                f"{source}.inventory_stockmovement",
            ],
            stdout=out,
            check=True,
        )
    ledger_schema = subprocess.run(
        [DUMP, *client_args(), "--no-data", source, "inventory_stockmovement"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    subprocess.run([CLIENT, *client_args(), "-e", f"CREATE DATABASE `{restore_database}`"], check=True)
    with dump.open() as dumped:
        subprocess.run([CLIENT, *client_args(), restore_database], stdin=dumped, check=True)
    subprocess.run([CLIENT, *client_args(), restore_database], input=ledger_schema, text=True, check=True)

    check = manage_on(restore_database, "check_integrity")

    assert check.returncode == 1
    assert f"ledger: product {mug.pk}: stock 6, ledger sum 0, newest quantity_after 0" in check.stdout
