"""Every write to inventory: stock, reservations, back-orders, transfers, purchasing, reorder.

Split by use case; import from here (`from inventory.services import stock_reserve`).
"""

from .purchasing import (
    PurchaseLineInput,
    ReceiptInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_transition,
)
from .reorder import ReorderScanResult, reorder_scan
from .reservations import (
    ReserveLine,
    ReserveResult,
    Shortfall,
    backorder_cancel,
    backorder_create,
    backorders_reserve,
    reservation_consume,
    reservation_move,
    reservation_release,
    stock_reserve,
    stock_reserve_ranked,
)
from .stock import ReceiptLine, receive_into, stock_adjust, stock_receive, stock_receive_bulk
from .transfers import (
    TransferLineInput,
    transfer_cancel,
    transfer_create,
    transfer_expedite,
    transfer_receive,
    transfer_ship,
)

__all__ = [
    "PurchaseLineInput",
    "ReceiptInput",
    "ReceiptLine",
    "ReorderScanResult",
    "ReserveLine",
    "ReserveResult",
    "Shortfall",
    "TransferLineInput",
    "backorder_cancel",
    "backorder_create",
    "backorders_reserve",
    "purchase_order_create",
    "purchase_order_receive",
    "purchase_order_transition",
    "receive_into",
    "reorder_scan",
    "reservation_consume",
    "reservation_move",
    "reservation_release",
    "stock_adjust",
    "stock_receive",
    "stock_receive_bulk",
    "stock_reserve",
    "stock_reserve_ranked",
    "transfer_cancel",
    "transfer_create",
    "transfer_expedite",
    "transfer_receive",
    "transfer_ship",
]
