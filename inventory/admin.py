from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from simple_history.admin import SimpleHistoryAdmin

from catalog.admin import ProductAdmin as CatalogProductAdmin
from catalog.models import Product
from catalog.serializers import MAX_STOCK
from ecommerce_admin.errors import DomainError

from . import services
from .models import MANUAL_REASONS, MovementReason, StockLevel, StockMovement


class StockLevelInline(admin.StackedInline):
    model = StockLevel
    fields = ["quantity", "low_stock_threshold", "updated_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    verbose_name_plural = "stock (change it from Inventory › Stock levels or with the restock action)"


class RestockForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_STOCK, help_text="Units received, per product.")
    note = forms.CharField(max_length=500, required=False)


def restock_action(modeladmin, request, queryset, product_ids):
    """Show a quantity form, then restock each selected product through the inventory services."""
    if "apply" in request.POST:
        form = RestockForm(request.POST)
        if form.is_valid():
            with transaction.atomic():
                for product in Product.objects.filter(pk__in=product_ids).order_by("pk"):
                    services.stock_adjust(
                        product=product,
                        delta=form.cleaned_data["quantity"],
                        reason=MovementReason.RESTOCK,
                        actor=request.user,
                        note=form.cleaned_data["note"],
                    )
            modeladmin.message_user(
                request, f"Restocked {len(product_ids)} product(s) by {form.cleaned_data['quantity']} unit(s)."
            )
            return None
    else:
        form = RestockForm()
    return render(
        request,
        "admin/inventory/restock.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": "Restock",
            "form": form,
            "queryset": queryset,
            "action": request.POST["action"],
            "opts": modeladmin.model._meta,
        },
    )


admin.site.unregister(Product)


@admin.register(Product)
class ProductAdmin(CatalogProductAdmin):
    """The catalog's product admin, with the product's stock shown and a restock action."""

    inlines = [StockLevelInline]
    list_display = [*CatalogProductAdmin.list_display[:4], "stock", *CatalogProductAdmin.list_display[4:]]
    list_select_related = ["category", "stock_level"]
    actions = [*CatalogProductAdmin.actions, "restock"]

    @admin.display(ordering="stock_level__quantity")
    def stock(self, product: Product) -> int | None:
        level = getattr(product, "stock_level", None)
        return level.quantity if level else None

    @admin.action(description="Restock selected products…", permissions=["restock"])
    def restock(self, request, queryset):
        return restock_action(self, request, queryset, list(queryset.values_list("pk", flat=True)))

    def has_restock_permission(self, request) -> bool:
        return request.user.has_perm("inventory.add_stockmovement")


class StockLevelForm(forms.ModelForm):
    adjust_by = forms.IntegerField(
        required=False, min_value=-MAX_STOCK, max_value=MAX_STOCK, help_text="Units to add (or remove, negative)."
    )
    reason = forms.ChoiceField(choices=[(r.value, r.label) for r in MANUAL_REASONS], initial=MovementReason.ADJUSTMENT)
    note = forms.CharField(max_length=500, required=False)

    class Meta:
        model = StockLevel
        fields = ["low_stock_threshold"]


@admin.register(StockLevel)
class StockLevelAdmin(SimpleHistoryAdmin):
    form = StockLevelForm
    list_display = ["product", "quantity", "low_stock_threshold", "is_low", "updated_at"]
    list_filter = ["product__category", "product__is_active"]
    list_select_related = ["product"]
    search_fields = ["product__sku", "product__name"]
    ordering = ["quantity", "product_id"]
    readonly_fields = ["product", "quantity", "updated_at"]
    fields = ["product", "quantity", "low_stock_threshold", "adjust_by", "reason", "note", "updated_at"]
    actions = ["restock"]

    @admin.display(boolean=True, description="low")
    def is_low(self, level: StockLevel) -> bool:
        return level.is_low

    def has_add_permission(self, request) -> bool:
        return False  # a stock level comes with its product

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if data.get("adjust_by"):
            services.stock_adjust(
                product=obj.product,
                delta=data["adjust_by"],
                reason=MovementReason(data["reason"]),
                actor=request.user,
                note=data["note"],
            )
        services.stock_threshold_set(product=obj.product, low_stock_threshold=data["low_stock_threshold"])

    @admin.action(description="Restock selected products…", permissions=["restock"])
    def restock(self, request, queryset):
        return restock_action(self, request, queryset, list(queryset.values_list("product_id", flat=True)))

    def has_restock_permission(self, request) -> bool:
        return request.user.has_perm("inventory.add_stockmovement")


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The ledger: read-only, append-only."""

    list_display = ["created_at", "product", "delta", "quantity_after", "reason", "actor", "note"]
    list_filter = ["reason", ("product", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["product", "actor"]
    search_fields = ["product__sku", "product__name", "note"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
