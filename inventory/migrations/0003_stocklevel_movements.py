from django.db import migrations, models

# Counted product by product through the ledger's (product, created_at, id) index, writing only the
# stock rows: no GROUP BY or INSERT ... SELECT over the whole ledger (one of 10M rows crashed mariadbd).
COUNT_EACH_PRODUCTS_ROWS = """
UPDATE inventory_stocklevel SET movements = (
    SELECT COUNT(*) FROM inventory_stockmovement WHERE inventory_stockmovement.product_id = inventory_stocklevel.product_id
)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="stocklevel",
            name="movements",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.RunSQL(COUNT_EACH_PRODUCTS_ROWS, reverse_sql=migrations.RunSQL.noop),
    ]
