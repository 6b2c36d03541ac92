from django.dispatch import Signal

# Both are sent inside the transaction that records the sale or refund, so a receiver can write in
# the same transaction (summaries) or schedule work with `transaction.on_commit` (broadcasts): a
# rolled-back sale then leaves no trace anywhere. An idempotent retry that answers an earlier sale
# sends nothing.
# Arguments: sale, lines (its SaleLine rows), actor.
sale_recorded = Signal()
# Arguments: refund, lines (its RefundLine rows), actor.
refund_recorded = Signal()
