"""Schemas for the care circle: invitations, memberships and the two-way overview."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.circle.models import CIRCLE_ROLES, MEMBERSHIP_STATUSES
from app.platform.schemas import StrictSchema, UTCDateTime


class InvitationCreateSchema(StrictSchema):
    login = fields.String(
        required=True,
        validate=validate.Length(min=1, max=255),
        metadata={"description": "The invitee's username or e-mail address."},
    )
    role = fields.String(
        required=True,
        validate=validate.OneOf(CIRCLE_ROLES),
        metadata={
            "description": "caregiver: the active parking event (photo, landmarks), alerts and "
            "trends. viewer: trends only."
        },
    )


class CircleUserSchema(Schema):
    """Who is on the other side: never their e-mail, phone or anything else."""

    id = fields.Integer(required=True)
    username = fields.String(required=True)
    full_name = fields.String(allow_none=True)


class MembershipSchema(Schema):
    """An invitation and, once accepted, a membership of ``person``'s circle."""

    id = fields.Integer(required=True)
    person = fields.Nested(CircleUserSchema, required=True)
    member = fields.Nested(CircleUserSchema, required=True)
    role = fields.String(required=True, metadata={"enum": list(CIRCLE_ROLES)})
    status = fields.String(required=True, metadata={"enum": list(MEMBERSHIP_STATUSES)})
    invited_at = UTCDateTime(required=True)
    expires_at = UTCDateTime(
        required=True, metadata={"description": "A pending invitation lapses at this time."}
    )
    responded_at = UTCDateTime(allow_none=True)
    ended_at = UTCDateTime(allow_none=True)


class CircleSchema(Schema):
    """Both directions of the circle, open entries only (pending and accepted)."""

    members = fields.List(
        fields.Nested(MembershipSchema),
        required=True,
        metadata={"description": "My caregivers and viewers, and whom I have invited."},
    )
    caring_for = fields.List(
        fields.Nested(MembershipSchema),
        required=True,
        metadata={"description": "The people I care for, and invitations waiting for me."},
    )
