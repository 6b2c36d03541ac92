"""Pre-aggregated sales, kept current in the same transaction as every sale and refund.

The grains are chosen for what the analytics read:
- `DailyCategorySales`: store-local day x snapshot category x channel. Series, totals and
  by-category with any channel or category filter read it. Its `orders` count the sales with at
  least one line in that category, so they add up across days and channels, not across categories.
- `MonthlyCategorySales`: the same by store-local month, for by-category figures over long ranges
  (40 categories x 4 channels: 160 rows a month instead of 4,800); the edge days come from above.
- `DailySales`: store-local day x channel, for orders over all categories (a sale with lines in
  two categories is one order).
- `MonthlyProductSales`: store-local month x product x snapshot category, for top products over
  long ranges: the day x product grain below is about as large as the sale lines when 2,000
  products sell sparsely, so it only serves the days at a range's edges that do not fill a month.
- `DailyProductSales`: store-local day x product x snapshot category, for those edges, the 30-day
  stock velocity and today's best sellers. At most one row per product per day, however many sales.
- `HourlySales`: store-local hour x channel, keyed by the UTC instant the hour starts (the two
  01:00 hours of a fall-back night are two rows), for hourly series and the dashboard's hours.
Refunds count on the store-local day they were made, under the refunded line's category and
channel. The `day` is computed with `STORE_TIME_ZONE`: after changing it, run `rebuild_summaries`.
"""

from django.db import models

# Defaults in the database too: the rebuild inserts sale and refund figures with separate INSERT ... SELECTs.
MONEY = {"max_digits": 14, "decimal_places": 2, "default": 0, "db_default": 0}
COUNT = {"default": 0, "db_default": 0}


class SalesFigures(models.Model):
    gross_revenue = models.DecimalField(**MONEY)
    refunds = models.DecimalField(**MONEY)
    orders = models.PositiveIntegerField(**COUNT)
    units_sold = models.PositiveIntegerField(**COUNT)
    units_refunded = models.PositiveIntegerField(**COUNT)
    # The newest sale or refund counted in the row, for `data_as_of`.
    newest = models.DateTimeField(null=True)

    class Meta:
        abstract = True


class DailyCategorySales(SalesFigures):
    # Clustered by day: a range of days is read in one sequential scan.
    pk = models.CompositePrimaryKey("day", "category_id", "channel")
    day = models.DateField()
    category_id = models.BigIntegerField()
    category_name = models.CharField(max_length=120, blank=True, default="", db_default="")
    channel = models.CharField(max_length=16)

    class Meta:
        indexes = [models.Index(fields=["category_id", "day"], name="daily_category_sales_cat_idx")]
        verbose_name_plural = "daily category sales"

    def __str__(self) -> str:
        return f"{self.day} category {self.category_id} {self.channel}"


class MonthlyCategorySales(SalesFigures):
    pk = models.CompositePrimaryKey("month", "category_id", "channel")
    month = models.DateField(help_text="The first day of the store-local month.")
    category_id = models.BigIntegerField()
    category_name = models.CharField(max_length=120, blank=True, default="", db_default="")
    channel = models.CharField(max_length=16)

    class Meta:
        verbose_name_plural = "monthly category sales"

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} category {self.category_id} {self.channel}"


class DailySales(SalesFigures):
    pk = models.CompositePrimaryKey("day", "channel")
    day = models.DateField()
    channel = models.CharField(max_length=16)

    class Meta:
        verbose_name_plural = "daily sales"

    def __str__(self) -> str:
        return f"{self.day} {self.channel}"


class MonthlyProductSales(SalesFigures):
    pk = models.CompositePrimaryKey("month", "product_id", "category_id")
    month = models.DateField(help_text="The first day of the store-local month.")
    product_id = models.BigIntegerField()
    category_id = models.BigIntegerField()

    class Meta:
        verbose_name_plural = "monthly product sales"

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} product {self.product_id}"


class DailyProductSales(SalesFigures):
    pk = models.CompositePrimaryKey("day", "product_id", "category_id")
    day = models.DateField()
    product_id = models.BigIntegerField()
    category_id = models.BigIntegerField()

    class Meta:
        verbose_name_plural = "daily product sales"

    def __str__(self) -> str:
        return f"{self.day} product {self.product_id}"


class HourlySales(SalesFigures):
    pk = models.CompositePrimaryKey("hour", "channel")
    hour = models.DateTimeField(help_text="The UTC instant the store-local hour starts.")
    channel = models.CharField(max_length=16)

    class Meta:
        verbose_name_plural = "hourly sales"

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:%M}Z {self.channel}"
