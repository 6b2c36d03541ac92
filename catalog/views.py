from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.response import Response

from ecommerce_admin.answer_cache import cached_answer, request_key
from ecommerce_admin.schema import conflict

from . import selectors, services
from .filters import ProductFilter
from .models import Product
from .serializers import CategorySerializer, ProductSerializer, product_representation


@extend_schema_view(destroy=extend_schema(responses={204: None, 409: conflict("category_in_use")}))
class CategoryViewSet(viewsets.ModelViewSet):
    serializer_class = CategorySerializer
    search_fields = ["name", "slug"]
    ordering_fields = ["name", "created_at", "product_count"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.category_list()

    # Read back through the selector, so the answer carries product_count like every other read.
    def perform_create(self, serializer):
        category = services.category_create(**serializer.validated_data)
        serializer.instance = selectors.category_list().get(pk=category.pk)

    def perform_update(self, serializer):
        category = services.category_update(category=serializer.instance, **serializer.validated_data)
        serializer.instance = selectors.category_list().get(pk=category.pk)

    def perform_destroy(self, instance):
        services.category_delete(category=instance)


@extend_schema_view(
    list=extend_schema(responses=ProductSerializer(many=True)),
    retrieve=extend_schema(responses=ProductSerializer),
    destroy=extend_schema(responses={204: None, 409: conflict("product_has_sales: archive it with is_active=false")}),
)
class ProductViewSet(viewsets.ModelViewSet):
    """Products; reads render plain rows (the hottest routes of the API), writes go through the services."""

    # For the permission check's model; the rows come from `get_queryset`.
    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["name", "sku", "description"]
    ordering_fields = ["name", "price", "stock", "created_at", "id"]
    ordering = ["id"]

    def get_queryset(self):
        return selectors.product_list()

    def list(self, request, *args, **kwargs):
        # Pages and products are reused until a product, category, stock level or sale changes (any of them).
        return Response(cached_answer(request_key(request), self.product_page))

    def product_page(self) -> dict:
        page = self.paginate_queryset(selectors.product_values(self.filter_queryset(self.get_queryset())))
        rows = selectors.with_category_names(list(page))
        return self.get_paginated_response([product_representation(row) for row in rows]).data

    def retrieve(self, request, *args, **kwargs):
        return Response(cached_answer(request_key(request), lambda: self.product(kwargs["pk"])))

    @staticmethod
    def product(pk: str) -> dict:
        try:
            row = selectors.product_row(product_id=int(pk))
        except (Product.DoesNotExist, ValueError) as error:
            raise Http404 from error
        return product_representation(row)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(actor=request.user, **serializer.validated_data)
        return Response(product_representation(selectors.product_row(product_id=product.pk)), status=201)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.pop("partial", False))
        serializer.is_valid(raise_exception=True)
        product = services.product_update(product=serializer.instance, actor=request.user, **serializer.validated_data)
        return Response(product_representation(selectors.product_row(product_id=product.pk)))

    def perform_destroy(self, instance):
        services.product_delete(product=instance)
