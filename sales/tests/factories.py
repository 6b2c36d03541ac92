from sales import services


def sell(*products_and_quantities, **kwargs):
    """Record a sale of (product, quantity) pairs through the service."""
    lines = [{"product": product, "quantity": quantity} for product, quantity in products_and_quantities]
    return services.sale_record(lines=lines, **kwargs)
