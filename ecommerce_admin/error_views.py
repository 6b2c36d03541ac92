"""Django's error pages, in the API's JSON shape for paths under /api/ (HTML elsewhere, for the admin)."""

from http import HTTPStatus

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=HTTPStatus.NOT_FOUND)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=HTTPStatus.BAD_REQUEST)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action.", "code": "permission_denied"},
            status=HTTPStatus.FORBIDDEN,
        )
    return defaults.permission_denied(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            {"detail": "Internal server error.", "code": "server_error"}, status=HTTPStatus.INTERNAL_SERVER_ERROR
        )
    return defaults.server_error(request)
