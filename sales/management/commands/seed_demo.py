import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from sales import seeding


class Command(BaseCommand):
    help = (
        "Seed a demo store: categories, products, a history of sales with refunds and restocks, the stock "
        "ledger that goes with it. Deterministic for a given --seed and day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=200)
        parser.add_argument("--categories", type=int, default=12)
        parser.add_argument("--days", type=int, default=120, help="Days of history, ending today.")
        parser.add_argument("--sales", type=int, default=20_000, help="Sale lines in total.")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="Delete the existing store data first.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the store has data.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, products, categories, days, sales, seed, reset, if_empty, no_progress, **options):
        for name, value, lowest in [("products", products, 1), ("categories", categories, 1), ("days", days, 1),
                                    ("sales", sales, 0)]:  # fmt: skip
            if value < lowest:
                raise CommandError(f"--{name} must be at least {lowest}.")
        if categories > products:
            raise CommandError("--categories may not exceed --products.")
        if not seeding.store_is_empty():
            if if_empty:
                self.stdout.write("The store already has data: not seeding.")
                return
            if not reset:
                raise CommandError("The store already has data; pass --reset to replace it (this deletes it).")
            seeding.store_reset()

        plan = seeding.SeedPlan(products=products, categories=categories, days=days, sale_lines=sales, seed=seed)
        started = time.monotonic()
        report = seeding.seed_store(plan, progress=not no_progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {report.categories} categories, {report.products} products, {report.sales:,} sales "
                f"({report.sale_lines:,} lines), {report.refunds:,} refunds, {report.movements:,} ledger rows "
                f"in {report.seconds:.1f} s."
            )
        )
        # The summaries belong to the insights app, which this app does not import: rebuild them by command.
        call_command("rebuild_summaries", stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))
