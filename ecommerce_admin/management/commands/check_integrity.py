from django.core.management.base import BaseCommand, CommandError

from ecommerce_admin.integrity import CHECKS, integrity_violations


class Command(BaseCommand):
    help = (
        "Verify every invariant of the stored data (ledger sums equal stock, sale and refund totals equal their"
        " lines, refunded quantities, no negative stock); print each violation and exit 1 if there is any."
    )

    def handle(self, *args, **options):
        found = integrity_violations()
        for name in CHECKS:
            violations = found.get(name, [])
            status = self.style.ERROR(f"{len(violations)} violation(s)") if violations else self.style.SUCCESS("ok")
            self.stdout.write(f"{name}: {status}")
            for violation in violations:
                self.stdout.write(f"  {violation}")
        total = sum(len(violations) for violations in found.values())
        if total:
            raise CommandError(f"check_integrity: {total} violation(s) found.", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"check_integrity: all {len(CHECKS)} checks passed."))
