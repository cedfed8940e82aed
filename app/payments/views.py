"""Payments and receipts: the caller's payments, and the operator's."""

from __future__ import annotations

from app.platform.blueprint import Blueprint

blp = Blueprint("payments", __name__, description="Payments and receipts.")
admin_blp = Blueprint("admin_payments", __name__, description="Payments (role admin).")
