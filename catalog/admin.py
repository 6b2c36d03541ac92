from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .models import Category, Product
from .serializers import MAX_STOCK


@admin.register(Category)
class CategoryAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "product_count", "updated_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    ordering = ["name"]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(ordering="product_count", description="products")
    def product_count(self, category: Category) -> int:
        return category.product_count

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.CATEGORY_EDITABLE_FIELDS}
        if change:
            services.category_update(category=obj, **fields)
        else:
            _adopt(obj, services.category_create(**fields))

    def delete_model(self, request, obj):
        services.category_delete(category=obj)

    def delete_queryset(self, request, queryset):
        for category in queryset:
            services.category_delete(category=category)


class ProductAddForm(forms.ModelForm):
    initial_stock = forms.IntegerField(min_value=0, max_value=MAX_STOCK, initial=0, required=False)
    low_stock_threshold = forms.IntegerField(
        min_value=0, max_value=MAX_STOCK, initial=settings.DEFAULT_LOW_STOCK_THRESHOLD, required=False
    )

    class Meta:
        model = Product
        fields = list(services.PRODUCT_EDITABLE_FIELDS)


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin):
    list_display = ["sku", "name", "category", "price", "cost", "is_active", "updated_at"]
    list_display_links = ["sku", "name"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["sku", "name", "description"]
    autocomplete_fields = ["category"]
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["name"]
    list_per_page = 50
    actions = ["archive", "activate"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ProductAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        fields = list(services.PRODUCT_EDITABLE_FIELDS)
        if obj is None:
            return [*fields, "initial_stock", "low_stock_threshold"]
        return [*fields, "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.PRODUCT_EDITABLE_FIELDS}
        if change:
            services.product_update(product=obj, actor=request.user, **fields)
        else:
            created = services.product_create(
                actor=request.user,
                initial_stock=form.cleaned_data.get("initial_stock") or 0,
                low_stock_threshold=form.cleaned_data.get("low_stock_threshold"),
                **fields,
            )
            _adopt(obj, created)

    def delete_model(self, request, obj):
        services.product_delete(product=obj)

    def delete_queryset(self, request, queryset):
        for product in queryset:
            services.product_delete(product=product)

    @admin.action(description="Archive selected products (stop selling them)", permissions=["change"])
    def archive(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Activate selected products", permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    def _set_active(self, request, queryset, is_active: bool) -> None:
        for product in queryset.filter(is_active=not is_active):
            services.product_update(product=product, actor=request.user, is_active=is_active)
        self.message_user(request, f"{'Activated' if is_active else 'Archived'} {queryset.count()} product(s).")


def _adopt(obj, created) -> None:
    """Let the admin carry on with the instance a service created (for its redirect and log entry)."""
    obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
    obj._state.adding = False
