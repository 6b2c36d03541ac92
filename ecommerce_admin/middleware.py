"""Refuse request bodies over the configured size before anything reads them."""

from http import HTTPStatus

from django.conf import settings
from django.http import JsonResponse

REQUEST_TOO_LARGE = "The request body is larger than {limit} bytes."


class RequestBodyLimitMiddleware:
    """Answer 413 JSON to a body whose Content-Length exceeds DATA_UPLOAD_MAX_MEMORY_SIZE.

    Django enforces the limit only when `request.body` or `request.POST` is read; DRF's parsers read the
    request stream directly, so without this a 50 MB JSON body would be read and parsed in full.
    A body that declares no length is bounded by the JSON parser itself (`ecommerce_admin.parsers`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                {"detail": "Content-Length is not a number.", "code": "bad_request"}, status=HTTPStatus.BAD_REQUEST
            )
        if limit is not None and length > limit:
            return JsonResponse(
                {"detail": REQUEST_TOO_LARGE.format(limit=limit), "code": "request_too_large"},
                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        return self.get_response(request)
