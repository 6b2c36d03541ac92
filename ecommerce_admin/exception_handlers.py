"""Turn every error a client can cause into the contract's JSON shapes, never a 500."""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from .errors import DomainError

logger = logging.getLogger(__name__)

# MariaDB error codes for a lost or refused connection, a deadlock and a lock wait timeout.
TRANSIENT_DATABASE_ERRORS = {1205, 1213, 2002, 2003, 2006, 2013, 4031}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_payload(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, (DataError, OverflowError)):
        # A value the serializers let through but the column cannot hold (too long, out of range): the
        # client's error, so a 400; the serializer that missed it should get the limit.
        logger.warning("Value out of range for its column while serving %s: %s", _view_name(context), exc)
        return Response(
            {"detail": "A value is too long or out of range for its field.", "code": "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    elif isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DatabaseError) and _mysql_error_code(exc) in TRANSIENT_DATABASE_ERRORS
    ):
        logger.warning("Database unavailable while serving %s: %s", _view_name(context), exc)
        return Response(
            {"detail": "The database is unavailable; retry shortly.", "code": "service_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, list):
        # A ValidationError raised with a bare message (a filter's, for one) renders as a list: give it the
        # contract's {detail, code} shape instead.
        codes = exc.get_codes()
        response.data = {
            "detail": " ".join(str(message) for message in response.data),
            "code": codes[0] if isinstance(codes, list) and codes and isinstance(codes[0], str) else "invalid",
        }
        return response
    if isinstance(exc, exceptions.APIException) and isinstance(response.data, dict) and "detail" in response.data:
        detail = exc.detail
        response.data["code"] = detail.code if hasattr(detail, "code") else exc.default_code
    return response


def _mysql_error_code(exc: Exception) -> int | None:
    args = getattr(exc.__cause__, "args", None) or exc.args
    return args[0] if args and isinstance(args[0], int) else None


def _view_name(context: dict) -> str:
    view = context.get("view")
    return type(view).__name__ if view else "unknown view"
