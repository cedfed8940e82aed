"""The admin audit log written from the admin routes: ``@audited`` records one row per
successful admin change, in the request's transaction (so a change and its record commit or
roll back together). ``tests/admin/test_admin_audit.py`` fails for an admin write route that
leaves no row."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from app.admin.models import AdminAudit
from app.platform.auth import current_user_id
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.personal_data import json_value

# Never copied from a request body into the log.
SECRET_FIELDS = frozenset({"password", "new_password", "current_password"})


def record(
    *, actor_id: int, action: str, target_type: str, target_id: int, detail: dict | None
) -> None:
    """Add one audit row for an admin action."""
    db.session.add(
        AdminAudit(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail or None,
            created_at=utcnow(),
        )
    )


def audited(action: str, *, target_type: str, target: str | None = None) -> Callable:
    """Record ``action`` on the target named by the path argument ``target`` (or, for a create,
    the returned object's id) with the request body's fields as the detail. Goes below
    ``@transaction`` and ``@blp.response``, so it sees the view's own return value."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            result = view(*args, **kwargs)
            target_id = kwargs[target] if target else _id_of(result)
            body = next((arg for arg in args[1:] if isinstance(arg, dict)), None)
            record(
                actor_id=current_user_id(),
                action=action,
                target_type=target_type,
                target_id=target_id,
                detail=_detail(body),
            )
            return result

        return wrapper

    return decorator


def _id_of(result: Any) -> int:
    body = result[0] if isinstance(result, tuple) else result
    return body["id"] if isinstance(body, dict) else body.id


def _detail(body: dict | None) -> dict | None:
    if not body:
        return None
    return {key: _plain(value) for key, value in sorted(body.items()) if key not in SECRET_FIELDS}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return json_value(value)
