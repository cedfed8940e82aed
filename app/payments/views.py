"""Payments and receipts: the caller's payments, and the operator's."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from app.payments import service as payments
from app.payments.schemas import (
    AdminPaymentQuerySchema,
    AdminPaymentSchema,
    MarkPaidSchema,
    PaymentQuerySchema,
    PaymentSchema,
    RefundSchema,
)
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.schemas import history_page_of, page_of
from app.platform.transactions import transaction
from app.platform.web import file_download, protected

blp = Blueprint("payments", __name__, description="Payments and receipts.")
admin_blp = Blueprint("admin_payments", __name__, description="Payments (role admin).")


@blp.route("/payments")
class Payments(MethodView):
    @protected(blp, 422)
    @blp.arguments(PaymentQuerySchema, location="query")
    @blp.response(200, history_page_of(PaymentSchema))
    def get(self, query):
        """The caller's payments, newest first (`?status=&kind=`)."""
        return payments.list_payments(user_id=current_user_id(), **query)


@blp.route("/payments/<id:payment_id>")
class PaymentDetail(MethodView):
    @protected(blp, 404)
    @blp.response(200, PaymentSchema)
    def get(self, payment_id):
        """One of the caller's payments."""
        return payments.get_payment(user_id=current_user_id(), payment_id=payment_id)


@blp.route("/payments/<id:payment_id>/receipt")
class PaymentReceipt(MethodView):
    @protected(blp, 404)
    @blp.response(200, description="The receipt (`application/pdf`), as an attachment.")
    @file_download(blp, "The receipt, as an attachment.", "application/pdf")
    def get(self, payment_id):
        """The receipt of one of the caller's payments, as a PDF."""
        filename, pdf = payments.receipt_pdf(user_id=current_user_id(), payment_id=payment_id)
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(pdf, mimetype="application/pdf", headers=headers)


@admin_blp.route("/admin/payments")
class AdminPayments(MethodView):
    @protected(admin_blp, 422, role="admin")
    @admin_blp.arguments(AdminPaymentQuerySchema, location="query")
    @admin_blp.response(200, page_of(AdminPaymentSchema))
    def get(self, query):
        """Every payment, newest first (`?lot_id=&status=&kind=&from=&to=`)."""
        return payments.admin_list_payments(**query)


@admin_blp.route("/admin/payments/<id:payment_id>/mark-paid")
class MarkPaid(MethodView):
    @protected(admin_blp, 404, 409, 422, role="admin")
    @admin_blp.arguments(MarkPaidSchema)
    @transaction
    @admin_blp.response(200, AdminPaymentSchema)
    def post(self, body, payment_id):
        """A pending payment was collected at the lot: `paid` (audited)."""
        return payments.mark_paid(actor_id=current_user_id(), payment_id=payment_id, **body)


@admin_blp.route("/admin/payments/<id:payment_id>/refund")
class Refund(MethodView):
    @protected(admin_blp, 404, 409, 422, role="admin")
    @admin_blp.arguments(RefundSchema)
    @transaction
    @admin_blp.response(200, AdminPaymentSchema)
    def post(self, body, payment_id):
        """Refund a paid payment or waive a pending one, with a reason (audited)."""
        return payments.refund_payment(actor_id=current_user_id(), payment_id=payment_id, **body)
