import random
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalog import services as catalog_services
from catalog.models import Category, Product

CATEGORY_NAMES = [
    "Electronics",
    "Books",
    "Home & Kitchen",
    "Toys",
    "Sports",
    "Beauty",
    "Garden",
    "Office",
    "Clothing",
    "Shoes",
    "Grocery",
    "Pet Supplies",
    "Automotive",
    "Music",
    "Health",
    "Tools",
]
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Eco", "Pro", "Smart", "Ultra", "Vintage", "Travel", "Essential"]
NOUNS = ["Kit", "Set", "Bundle", "Pack", "Edition", "Model", "Series", "Collection"]


class Command(BaseCommand):
    help = "Seed a demo store: categories and products with opening stock (deterministic with --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=60)
        parser.add_argument("--categories", type=int, default=8)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="Delete the existing catalog first.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the store has products.")

    def handle(self, *args, products, categories, seed, reset, if_empty, **options):
        if Product.objects.exists():
            if if_empty:
                self.stdout.write("The store already has data: not seeding.")
                return
            if not reset:
                raise CommandError("The store already has data; pass --reset to replace it.")
        if not 1 <= categories <= len(CATEGORY_NAMES):
            raise CommandError(f"--categories must be between 1 and {len(CATEGORY_NAMES)}.")
        rng = random.Random(seed)
        with transaction.atomic():
            if reset:
                Product.objects.all().delete()
                Category.objects.all().delete()
            made = [catalog_services.category_create(name=name) for name in CATEGORY_NAMES[:categories]]
            for number in range(1, products + 1):
                category = made[number % len(made)]
                price = Decimal(rng.randrange(199, 19999)) / 100
                catalog_services.product_create(
                    sku=f"DEMO-{number:05d}",
                    name=f"{rng.choice(ADJECTIVES)} {category.name.split()[0]} {rng.choice(NOUNS)} {number}",
                    category=category,
                    price=price,
                    cost=(price * Decimal(rng.uniform(0.35, 0.7))).quantize(Decimal("0.01")),
                    initial_stock=rng.choice([0, 3, 8, 25, 50, 120, 300]),
                )
        self.stdout.write(self.style.SUCCESS(f"Seeded {categories} categories and {products} products."))
