from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.text import slugify

from ecommerce_admin.errors import DomainError

from .models import Category, Product
from .signals import product_saved

PRODUCT_EDITABLE_FIELDS = ("sku", "name", "description", "category", "price", "cost", "is_active")
CATEGORY_EDITABLE_FIELDS = ("name", "slug")


class CategoryInUse(DomainError):
    code = "category_in_use"
    default_message = "This category still has products; move or delete them first."


class ProductHasSales(DomainError):
    code = "product_has_sales"
    default_message = "This product has been sold and cannot be deleted; archive it with is_active=false."


@transaction.atomic
def category_create(*, name: str, slug: str = "") -> Category:
    """Create a category; the slug is derived from the name when not given."""
    category = Category(name=name.strip(), slug=slug or slugify(name))
    _save_validated(category)
    return category


@transaction.atomic
def category_update(*, category: Category, **changes) -> Category:
    """Change a category's name or slug."""
    _apply(category, changes, CATEGORY_EDITABLE_FIELDS)
    _save_validated(category)
    return category


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete a category that no product uses."""
    if category.products.exists():
        raise CategoryInUse()
    try:
        category.delete()
    except ProtectedError as error:
        raise CategoryInUse() from error


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    category: Category,
    price: Decimal,
    cost: Decimal | None = None,
    description: str = "",
    is_active: bool = True,
    initial_stock: int = 0,
    low_stock_threshold: int | None = None,
    actor: AbstractBaseUser | None = None,
) -> Product:
    """Create a product with its opening stock, in one transaction."""
    product = Product(
        sku=sku.strip(),
        name=name,
        category=category,
        price=price,
        cost=cost,
        description=description,
        is_active=is_active,
    )
    _save_validated(product)
    product_saved.send(
        sender=Product,
        product=product,
        created=True,
        actor=actor,
        initial_stock=initial_stock,
        low_stock_threshold=low_stock_threshold,
    )
    return product


@transaction.atomic
def product_update(
    *, product: Product, actor: AbstractBaseUser | None = None, low_stock_threshold: int | None = None, **changes
) -> Product:
    """Change a product's catalog fields and, when given, its low-stock threshold."""
    if "sku" in changes:
        changes["sku"] = changes["sku"].strip()
    _apply(product, changes, PRODUCT_EDITABLE_FIELDS)
    _save_validated(product)
    product_saved.send(
        sender=Product, product=product, created=False, actor=actor, low_stock_threshold=low_stock_threshold
    )
    return product


@transaction.atomic
def product_delete(*, product: Product) -> None:
    """Delete a product that was never sold; a sold product is archived instead."""
    try:
        product.delete()
    except ProtectedError as error:
        raise ProductHasSales() from error


def _apply(instance, changes: dict, editable: tuple[str, ...]) -> None:
    unknown = set(changes) - set(editable)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(instance, field, value)


def _save_validated(instance) -> None:
    """Validate against the model (uniqueness included) and save; a racing duplicate is a 400, not a 500."""
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:
        model = type(instance)
        clashes = {
            field.name: [f"{model._meta.verbose_name} with this {field.verbose_name} already exists."]
            for field in model._meta.fields
            if field.unique
            and not field.primary_key
            and model.objects.filter(**{field.name: getattr(instance, field.name)}).exclude(pk=instance.pk).exists()
        }
        raise ValidationError(clashes or "This record conflicts with another one.") from error
