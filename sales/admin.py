from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from ecommerce_admin.errors import DomainError

from . import services
from .models import Refund, RefundLine, Sale, SaleLine


class SaleLineEntryForm(forms.ModelForm):
    unit_price = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, help_text="Blank: the product's price."
    )

    class Meta:
        model = SaleLine
        fields = ["product", "quantity", "unit_price"]


class SaleLineEntryInline(admin.TabularInline):
    """Lines typed in when a staff member records a sale; the sale service takes them from stock."""

    model = SaleLine
    form = SaleLineEntryForm
    autocomplete_fields = ["product"]
    extra = 3
    min_num = 1
    max_num = services.MAX_LINES
    validate_min = True


class SaleLineInline(admin.TabularInline):
    model = SaleLine
    fields = ["product", "sku", "product_name", "category_name", "quantity", "unit_price", "line_total",
              "refunded_quantity"]  # fmt: skip
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ["created_at", "amount", "restocked", "reason", "created_by"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0


class SaleEntryForm(forms.ModelForm):
    sold_at = forms.DateTimeField(required=False, help_text="Blank: now.")

    class Meta:
        model = Sale
        fields = ["channel", "sold_at", "customer_email", "note"]


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    """Sales are recorded here like through the API, then read-only: financial records are never edited."""

    list_display = ["number", "sold_at", "channel", "status", "total", "refunded_total", "created_by"]
    list_filter = ["channel", "status"]
    search_fields = ["number", "customer_email", "lines__sku"]
    date_hierarchy = "sold_at"
    ordering = ["-sold_at", "-id"]
    list_select_related = ["created_by"]
    show_full_result_count = False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = SaleEntryForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["channel", "sold_at", "customer_email", "note"]
        return ["number", "channel", "status", "sold_at", "customer_email", "note", "total", "refunded_total",
                "created_by", "created_at", "idempotency_key"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_inlines(self, request, obj):
        return [SaleLineEntryInline] if obj is None else [SaleLineInline, RefundInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, f"Nothing was recorded: {error.message}", level=messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        """Recorded in save_related, where the lines are known: the service writes sale and lines together."""

    def save_related(self, request, form, formsets, change):
        lines = [
            {"product": line["product"], "quantity": line["quantity"], "unit_price": line.get("unit_price")}
            for formset in formsets
            for line in formset.cleaned_data
            if line and not line.get("DELETE")
        ]
        sale = services.sale_record(
            lines=lines,
            channel=form.cleaned_data["channel"],
            sold_at=form.cleaned_data.get("sold_at"),
            customer_email=form.cleaned_data.get("customer_email", ""),
            note=form.cleaned_data.get("note", ""),
            actor=request.user,
        )
        form.instance.__dict__.update({k: v for k, v in sale.__dict__.items() if k != "_state"})
        form.instance._state.adding = False
        for formset in formsets:  # the admin's change message reads what the formsets saved
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class RefundLineInline(admin.TabularInline):
    model = RefundLine
    fields = ["sale_line", "quantity", "amount"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["id", "sale", "created_at", "amount", "restocked", "created_by"]
    list_filter = ["restocked"]
    search_fields = ["sale__number", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["sale", "created_by"]
    inlines = [RefundLineInline]
    readonly_fields = ["sale", "amount", "restocked", "reason", "created_by", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # refunds are made against a sale through the API

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
