import os

from django.core.wsgi import get_wsgi_application

from .startup import freeze_loaded_heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecommerce_admin.settings.base")
application = get_wsgi_application()

freeze_loaded_heap()
