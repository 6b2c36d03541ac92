from django.dispatch import Signal

# Sent after the transaction that changed a product's stock commits.
# Arguments: product_id, old_quantity, new_quantity, low_stock_threshold, reason.
stock_changed = Signal()
