"""This app's routes under /api/v1/ (each answering with and without its trailing slash)."""

urlpatterns: list = []
