"""GET /api/v1/audit/: every recorded change to products, categories, stock thresholds, users and groups.

The history itself is django-simple-history's (one table per audited model, written on every save and
permission change, with the request's user); this reads those tables as one list, newest first.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.db.models import BigIntegerField, CharField, F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError

from catalog.models import Category, Product
from inventory.models import StockLevel

from .permissions import permission_required
from .store_calendar import day_start

# model name in the API -> (the audited model, its primary key field)
AUDITED = {
    "product": (Product, "id"),
    "category": (Category, "id"),
    "stocklevel": (StockLevel, "product_id"),
    "user": (User, "id"),
    "group": (Group, "id"),
}
# How an entry names its record, from the historical row itself (`record.instance` would re-read excluded fields).
REPRS = {
    "product": lambda r: f"{r.sku} {r.name}",
    "category": lambda r: r.name,
    "stocklevel": lambda r: f"stock of product {r.product_id}",
    "user": lambda r: r.username,
    "group": lambda r: r.name,
}
M2M_TARGETS = {"groups": "group", "user_permissions": "permission", "permissions": "permission"}
CHANGE_TYPES = {"+": "created", "~": "changed", "-": "deleted"}
HIDDEN_FIELDS = {"history_id", "history_date", "history_type", "history_user", "history_change_reason", "updated_at"}
COLUMNS = ("history_id", "history_date", "history_type", "history_user_id", "object_id", "model")


def audit_rows(
    *,
    model: str | None = None,
    object_id: int | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet:
    """One row per recorded change across every audited model, newest first, as plain value tuples."""
    parts = []
    for name, (audited, pk_field) in AUDITED.items():
        if model and name != model:
            continue
        rows = audited.history.all()
        if object_id is not None:
            rows = rows.filter(**{pk_field: object_id})
        if user_id is not None:
            rows = rows.filter(history_user_id=user_id)
        if since is not None:
            rows = rows.filter(history_date__gte=since)
        if until is not None:
            rows = rows.filter(history_date__lt=until)
        parts.append(
            rows.order_by()
            .annotate(object_id=Cast(F(pk_field), BigIntegerField()), model=Value(name, CharField(max_length=20)))
            .values_list(*COLUMNS)
        )
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("-history_date", "-history_id")


def audit_entries(rows: list[tuple]) -> list[dict[str, Any]]:
    """The changes of one page of rows, each with its before/after values (two queries per model on the page)."""
    by_model: dict[str, list[int]] = {}
    for row in rows:
        by_model.setdefault(row[5], []).append(row[0])
    records: dict[tuple[str, int], Any] = {}
    previous: dict[tuple[str, int], Any] = {}
    m2m: dict[tuple[str, int], dict[str, list[int]]] = {}
    for name, history_ids in by_model.items():
        audited, pk_field = AUDITED[name]
        history = audited.history.model
        earlier = history.objects.filter(
            **{pk_field: OuterRef(pk_field)}, history_id__lt=OuterRef("history_id")
        ).order_by("-history_id")
        page = list(
            history.objects.filter(history_id__in=history_ids)
            .select_related("history_user")
            .annotate(previous_id=Subquery(earlier.values("history_id")[:1]))
        )
        before = history.objects.in_bulk([r.previous_id for r in page if r.previous_id is not None])
        for record in page:
            records[name, record.history_id] = record
            previous[name, record.history_id] = before.get(record.previous_id)
        m2m.update(_m2m_sets(name, history, [*history_ids, *(r.previous_id for r in page if r.previous_id)]))
    labels = _m2m_labels()
    entries = []
    for history_id, history_date, history_type, user_id, object_id, name in rows:
        record = records[name, history_id]
        user = record.history_user
        entries.append(
            {
                "id": f"{name}:{history_id}",
                "model": name,
                "object_id": object_id,
                "object_repr": REPRS[name](record),
                "change_type": CHANGE_TYPES[history_type],
                "at": history_date,
                "user": user_id,
                "username": user.get_username() if user else None,
                "changes": _changes(record, previous[name, history_id], m2m, labels),
            }
        )
    return entries


def _changes(record, before, m2m: dict, labels: dict[str, dict[int, str]]) -> list[dict[str, Any]]:
    name = next(key for key, (audited, _) in AUDITED.items() if audited.history.model is type(record))
    fields = [f.name for f in record._meta.fields if f.name not in HIDDEN_FIELDS]
    changes = []
    if record.history_type == "-":
        return [{"field": field, "old": _plain(_value(record, field)), "new": None} for field in fields]
    if before is None and record.history_type == "~":
        return []  # its earlier history was not recorded: nothing to compare with
    for field in fields:
        new = _value(record, field)
        old = _value(before, field) if before is not None else None
        if before is None or old != new:
            changes.append({"field": field, "old": _plain(old), "new": _plain(new)})
    for field, target in M2M_TARGETS.items():
        if field not in {f.name for f in record.instance_type._meta.many_to_many}:
            continue
        new = _labelled(m2m.get((name, record.history_id), {}).get(field, []), labels[target])
        old = _labelled(m2m.get((name, before.history_id), {}).get(field, []), labels[target]) if before else []
        if old != new:
            changes.append({"field": field, "old": old, "new": new})
    return changes


def _value(record, field: str) -> Any:
    return getattr(record, record._meta.get_field(field).attname)


def _m2m_sets(name: str, history, history_ids: list[int]) -> dict[tuple[str, int], dict[str, list[int]]]:
    """The permission and group sets that historical users and groups had, in one query per m2m field."""
    sets: dict[tuple[str, int], dict[str, list[int]]] = {}
    for field, target in M2M_TARGETS.items():
        try:  # django-simple-history names the m2m history table <HistoricalModel>_<field>
            through = apps.get_model(history._meta.app_label, f"{history.__name__}_{field}")
        except LookupError:
            continue
        for history_id, target_id in through.objects.filter(history_id__in=history_ids).values_list(
            "history_id", target
        ):
            sets.setdefault((name, history_id), {}).setdefault(field, []).append(target_id)
    return sets


def _labelled(ids: list[int], labels: dict[int, str]) -> list[str]:
    return sorted(labels.get(pk, str(pk)) for pk in ids)


def _m2m_labels() -> dict[str, dict[int, str]]:
    """Group names and permission names ("app_label.codename"), for permission changes people can read."""
    permissions = Permission.objects.values_list("id", "content_type__app_label", "codename")
    return {
        "group": dict(Group.objects.values_list("id", "name")),
        "permission": {pk: f"{app}.{codename}" for pk, app, codename in permissions},
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value.as_tuple().exponent == -2 else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    return value


class AuditChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class AuditEntrySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="model:history id")
    model = serializers.ChoiceField(choices=list(AUDITED))
    object_id = serializers.IntegerField()
    object_repr = serializers.CharField()
    change_type = serializers.ChoiceField(choices=list(CHANGE_TYPES.values()))
    at = serializers.DateTimeField()
    user = serializers.IntegerField(allow_null=True, help_text="Who made the change (null: a command or migration)")
    username = serializers.CharField(allow_null=True)
    changes = AuditChangeSerializer(many=True)


class AuditQuerySerializer(serializers.Serializer):
    model = serializers.ChoiceField(choices=list(AUDITED), required=False)
    object_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    user = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise ValidationError({"start_date": ["start_date must not be after end_date."]})
        return attrs


@extend_schema(
    summary="The audit trail",
    description=(
        "Every recorded change to a product, category, stock threshold, user or group (permissions included),"
        " through the API or the admin: who, when, what kind of change, and the before/after value of each"
        " changed field. Newest first. Needs `ecommerce_admin.view_audit` (the Store manager group has it)."
    ),
    parameters=[
        OpenApiParameter("model", str, enum=list(AUDITED)),
        OpenApiParameter("object_id", int, description="The audited record's id (a stock level's is its product's)"),
        OpenApiParameter("user", int, description="Changes made by this user id"),
        OpenApiParameter("start_date", OpenApiTypes.DATE, description="On or after this store date"),
        OpenApiParameter("end_date", OpenApiTypes.DATE, description="On or before this store date"),
    ],
)
class AuditView(generics.ListAPIView):
    serializer_class = AuditEntrySerializer
    permission_classes = [permission_required("ecommerce_admin.view_audit")]
    filter_backends: list = []

    def list(self, request, *args, **kwargs):
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        rows = audit_rows(
            model=params.get("model"),
            object_id=params.get("object_id"),
            user_id=params.get("user"),
            since=day_start(params["start_date"]) if "start_date" in params else None,
            until=day_start(params["end_date"] + timedelta(days=1)) if "end_date" in params else None,
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(AuditEntrySerializer(audit_entries(list(page)), many=True).data)
