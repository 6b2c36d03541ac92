from django.dispatch import Signal

# Sent inside the transaction that creates or changes a product, so that a receiver's writes
# (inventory opens the stock level and its `initial` ledger row) commit or roll back with it.
# Arguments: product, created (bool), actor (user or None), initial_stock (int, on creation),
# low_stock_threshold (int or None: unchanged).
product_saved = Signal()
