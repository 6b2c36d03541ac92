"""Gunicorn settings for the REST API and admin under `make run-prod` (see docs/PERFORMANCE.md)."""

import multiprocessing
import os

wsgi_app = "ecommerce_admin.wsgi:application"
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() * 2))
# Threads let a worker keep client connections alive and overlap database waits.
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
threads = int(os.environ.get("WEB_THREADS", "2"))
keepalive = 5
max_requests = 20000
max_requests_jitter = 2000
timeout = 30
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "warning").lower()
