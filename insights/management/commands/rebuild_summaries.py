from datetime import date

from django.core.management.base import BaseCommand, CommandError

from insights.summaries import summaries_rebuild, summaries_verify


class Command(BaseCommand):
    help = (
        "Recompute the sales summaries from the sale and refund lines, for whole store months covering the range "
        "(default: from the first sale to today). Idempotent. Run it after changing STORE_TIME_ZONE. "
        "With --verify, rebuild nothing: compare the stored summaries with the lines and exit 1 on any difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start-date", type=date.fromisoformat, help="YYYY-MM-DD, a store-local date")
        parser.add_argument("--end-date", type=date.fromisoformat, help="YYYY-MM-DD, a store-local date")
        parser.add_argument("--verify", action="store_true", help="Only compare; exit 1 on any difference.")

    def handle(self, *args, start_date, end_date, verify, **options):
        if start_date and end_date and start_date > end_date:
            raise CommandError("--start-date must not be after --end-date.")
        if verify:
            differences = summaries_verify(start_date=start_date, end_date=end_date)
            for line in differences:
                self.stderr.write(line)
            if differences:
                raise CommandError(f"{len(differences)} summary row(s) differ from the sale and refund lines.")
            self.stdout.write(self.style.SUCCESS("The summaries equal the sale and refund lines."))
            return
        report = summaries_rebuild(start_date=start_date, end_date=end_date)
        if report.start_date is None:
            self.stdout.write("No sales: nothing to summarise.")
            return
        rows = ", ".join(f"{count:,} {name}" for name, count in report.rows.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Rebuilt the summaries of the months from {report.start_date} to {report.end_date}: {rows}."
            )
        )
