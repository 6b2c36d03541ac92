from rest_framework import viewsets

from . import selectors, services
from .filters import ProductFilter
from .serializers import CategorySerializer, ProductSerializer


class CategoryViewSet(viewsets.ModelViewSet):
    serializer_class = CategorySerializer
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at", "product_count"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.category_list()

    def perform_create(self, serializer):
        serializer.instance = services.category_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.category_update(category=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.category_delete(category=instance)


class ProductViewSet(viewsets.ModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["name", "sku", "description"]
    ordering_fields = ["name", "price", "stock", "created_at", "id"]
    ordering = ["id"]

    def get_queryset(self):
        return selectors.product_list()

    def perform_create(self, serializer):
        product = services.product_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = selectors.product_list().get(pk=product.pk)

    def perform_update(self, serializer):
        product = services.product_update(
            product=serializer.instance, actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = selectors.product_list().get(pk=product.pk)

    def perform_destroy(self, instance):
        services.product_delete(product=instance)
