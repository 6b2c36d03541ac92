"""The API's JSON parser: any body a client can send is parsed or refused with a 400, never a 500."""

import json

from django.conf import settings
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError

from .middleware import REQUEST_TOO_LARGE

MAX_JSON_DEPTH = 32


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing nesting deeper than MAX_JSON_DEPTH and strings MariaDB cannot store.

    The standard library decoder recurses once per level: a body of 100,000 `[` raises RecursionError
    (not a ValueError), which DRF's parser lets through as a 500. A lone surrogate (`"\\ud800"`) decodes
    to a Python string that no UTF-8 database column accepts, so it fails later, at the INSERT.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = b"" if stream is None else stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestTooLarge(REQUEST_TOO_LARGE.format(limit=limit))
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}.") from error
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nesting_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise ParseError(f"JSON parse error - {error}") from error
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            raise ParseError("JSON parse error - a string holds a lone UTF-16 surrogate.") from error
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counting brackets outside strings only."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
