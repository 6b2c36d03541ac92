from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "shopdesk-demo"


class Command(BaseCommand):
    help = "Create the demo superuser when DEBUG is on (never in production) and print its credentials."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            self.stdout.write("DEBUG is off: no demo superuser is created.")
            return
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USERNAME).exists():
            User.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)
        self.stdout.write(
            self.style.WARNING(f"Demo superuser (DEBUG only): username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
        )
