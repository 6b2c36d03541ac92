"""CSV for every analytics and insights endpoint: `?format=csv` or `Accept: text/csv`."""

import csv
import io
import re

from rest_framework.renderers import BaseRenderer

# A spreadsheet runs a cell that starts like a formula; a product named "=HYPERLINK(...)" must stay text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


class CSVRenderer(BaseRenderer):
    """The rows and columns the view names (`csv_rows`, `csv_columns`): the JSON's rows, one line each.

    Cells hold the JSON values: money as its 2-place string, null as an empty cell.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        renderer_context = renderer_context or {}
        view = renderer_context["view"]
        response = renderer_context.get("response")
        if response is not None:
            response["Content-Disposition"] = f'attachment; filename="{view.csv_name}.csv"'
        columns = view.csv_columns
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(columns)
        for row in view.csv_rows(data):
            writer.writerow([csv_cell(row.get(column)) for column in columns])
        return out.getvalue().encode(self.charset)


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_START) and not NUMBER.match(text):
        return "'" + text
    return text


def flatten(data: dict, prefix: str = "") -> dict:
    """Nested objects as dotted column names: {"current": {"orders": 3}} -> {"current.orders": 3}."""
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    flat.update(flatten(item, f"{name}.{index}."))
                else:
                    flat[f"{name}.{index}"] = item
        else:
            flat[name] = value
    return flat
