"""Migrate a fresh MariaDB database all the way up, down to zero, and up again; fail on any difference.

Every migration must be reversible, and unapplying everything must leave no table behind but
django_migrations; the schema after the second `migrate` must equal the first, and check_integrity
must pass. Uses its own database (ROUNDTRIP_DATABASE_URL, default .../shopdesk_migrations_roundtrip),
created afresh and dropped at the end.
"""

import io
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("ROUNDTRIP_DATABASE_URL", "mysql://root@127.0.0.1:3306/shopdesk_migrations_roundtrip")
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce_admin.settings.base")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "migrations-roundtrip-only")


def server_connection():
    import MySQLdb

    url = urlparse(URL)
    return MySQLdb.connect(
        host=url.hostname or "127.0.0.1", port=url.port or 3306, user=url.username or "root", passwd=url.password or ""
    )


def schema(cursor) -> dict[str, str]:
    cursor.execute("SHOW TABLES")
    tables = sorted(row[0] for row in cursor.fetchall())
    definitions = {}
    for table in tables:
        cursor.execute(f"SHOW CREATE TABLE `{table}`")
        # AUTO_INCREMENT counters differ after a round trip; the schema does not.
        definitions[table] = " ".join(
            part for part in cursor.fetchone()[1].split() if not part.startswith("AUTO_INCREMENT=")
        )
    return definitions


def main() -> int:
    name = urlparse(URL).path.lstrip("/")
    server = server_connection()
    server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
    server.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    try:
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            before = schema(cursor)
        apps = sorted({app for app, _ in MigrationLoader(connection).graph.nodes})
        print(f"migrated up: {len(before)} tables from {len(apps)} apps")

        for app in apps:  # unapplying an app's first migration unapplies everything that depends on it
            call_command("migrate", app, "zero", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            left = sorted(schema(cursor))
        if left != ["django_migrations"]:
            print(f"FAIL: tables left after migrating every app to zero: {left}")
            return 1
        print("migrated down to zero: no table left but django_migrations")

        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            after = schema(cursor)
        if after != before:
            changed = sorted(set(before) ^ set(after) | {t for t in before if after.get(t) != before[t]})
            print(f"FAIL: the schema differs after migrating up again: {changed}")
            return 1
        call_command("check_integrity", stdout=io.StringIO())
        print(f"migrated up again: the same {len(after)} tables, check_integrity passes")
        return 0
    finally:
        connection.close()
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


if __name__ == "__main__":
    sys.exit(main())
