"""Payment providers: who holds the money of a payment.

A provider is chosen by ``PAYMENT_PROVIDER`` and checked when the app is created
(``config.validate_config``). The API never sees card data: a card provider would take the card
on its own page or terminal and tell us a reference; here we only keep that reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class Charge:
    """What a provider did with a new charge: ``pending`` (to be collected), ``paid`` or
    ``failed``, and its own reference when it has one."""

    status: str
    reference: str | None = None


@dataclass(frozen=True)
class Refund:
    """A refund the provider accepted, with its own reference when it has one."""

    reference: str | None = None


class PaymentProvider(Protocol):
    """The two things ParkMind asks of a provider. Amounts in cents; ids, never ORM objects."""

    name: str

    def charge(self, *, payment_id: int, amount_cents: int, currency: str) -> Charge:
        """Ask for ``amount_cents`` for the payment ``payment_id``."""
        ...

    def refund(
        self,
        *,
        payment_id: int,
        reference: str | None,
        amount_cents: int,
        currency: str,
        reason: str,
    ) -> Refund:
        """Give the money of payment ``payment_id`` back (or cancel a charge not yet collected)."""
        ...


class ManualProvider:
    """Cash or the card terminal at the lot: the operator collects and marks the payment paid
    (``POST /admin/payments/{id}/mark-paid``); a refund is handed back at the desk and only
    recorded here."""

    name = "manual"

    def charge(self, *, payment_id: int, amount_cents: int, currency: str) -> Charge:
        """Nothing to collect online: the payment waits for the operator."""
        return Charge(status="pending")

    def refund(
        self,
        *,
        payment_id: int,
        reference: str | None,
        amount_cents: int,
        currency: str,
        reason: str,
    ) -> Refund:
        """Nothing to call: the operator gives the money back at the lot."""
        return Refund()


PROVIDERS: dict[str, type] = {"manual": ManualProvider}


class UnknownProvider(LookupError):
    """``PAYMENT_PROVIDER`` names no provider."""


def provider_named(name: str) -> PaymentProvider:
    """The provider called ``name``."""
    try:
        return PROVIDERS[name]()
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise UnknownProvider(f"PAYMENT_PROVIDER must be one of {known}, not {name!r}") from None


def current_provider() -> PaymentProvider:
    """The provider this app is configured with (``PAYMENT_PROVIDER``)."""
    return provider_named(current_app.config.get("PAYMENT_PROVIDER") or "manual")
