"""Care circle: caregivers and viewers, by consent."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from app.circle import alerting
from app.circle import service as circle
from app.circle.alert_schemas import (
    AcknowledgeSchema,
    AlertPageSchema,
    AlertQuery,
    AlertSchema,
    LiveRetrievalSchema,
    OwnLiveRetrievalSchema,
    ResolveSchema,
)
from app.circle.schemas import CircleSchema, InvitationCreateSchema, MembershipSchema
from app.parking.schemas import ParkingEventSchema, ScoreTrendQuery, ScoreTrendSchema
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.extensions import limiter
from app.platform.transactions import transaction
from app.platform.web import created, protected

blp = Blueprint("circle", __name__, description="Care circle: caregivers and viewers, by consent.")


def _invite_limit() -> str:
    return current_app.config.get("CIRCLE_INVITE_RATE_LIMIT", "30 per hour")


@blp.route("/circle")
class Circle(MethodView):
    @protected(blp)
    @blp.response(200, CircleSchema)
    def get(self):
        """My caregivers and viewers (with status), and the people I care for."""
        return circle.circle_overview(user_id=current_user_id())


@blp.route("/circle/invitations")
class Invitations(MethodView):
    decorators = [limiter.limit(_invite_limit, methods=["POST"])]

    @protected(blp, 404, 409, 422, 429)
    @blp.arguments(InvitationCreateSchema)
    @transaction
    @blp.response(201, MembershipSchema)
    def post(self, body):
        """Invite a user by username or e-mail; they must accept (404 ``user_not_found``)."""
        invitation = circle.invite(
            person_id=current_user_id(), login=body["login"], role=body["role"]
        )
        return created(invitation, "circle.Invitation", invitation_id=invitation.id)


@blp.route("/invitations/<id:invitation_id>")
class Invitation(MethodView):
    @protected(blp, 404)
    @blp.response(200, MembershipSchema)
    def get(self, invitation_id):
        """An invitation I sent or received."""
        return circle.get_invitation(user_id=current_user_id(), invitation_id=invitation_id)


@blp.route("/invitations/<id:invitation_id>/accept")
class AcceptInvitation(MethodView):
    @protected(blp, 404, 409)
    @transaction
    @blp.response(200, MembershipSchema)
    def post(self, invitation_id):
        """Accept a pending invitation sent to me (409 ``invitation_expired``)."""
        return circle.accept_invitation(user_id=current_user_id(), invitation_id=invitation_id)


@blp.route("/invitations/<id:invitation_id>/decline")
class DeclineInvitation(MethodView):
    @protected(blp, 404, 409)
    @transaction
    @blp.response(200, MembershipSchema)
    def post(self, invitation_id):
        """Decline a pending invitation sent to me."""
        return circle.decline_invitation(user_id=current_user_id(), invitation_id=invitation_id)


@blp.route("/circle/members/<id:user_id>")
class Member(MethodView):
    @protected(blp, 404)
    @transaction
    @blp.response(204)
    def delete(self, user_id):
        """Remove someone from my circle, or leave theirs; access ends at once."""
        circle.remove_member(user_id=current_user_id(), other_user_id=user_id)


@blp.route("/people/<id:user_id>/parking-events/latest-active")
class PersonLatestActiveEvent(MethodView):
    @protected(blp, 404)
    @transaction
    @blp.response(200, ParkingEventSchema)
    def get(self, user_id):
        """The person's active parking event with photo and landmarks (caregivers only)."""
        return circle.person_latest_active_event(viewer_id=current_user_id(), person_id=user_id)


@blp.route("/people/<id:user_id>/scores/trend")
class PersonScoreTrend(MethodView):
    @protected(blp, 404, 422)
    @blp.arguments(ScoreTrendQuery, location="query")
    @transaction
    @blp.response(200, ScoreTrendSchema(many=True))
    def get(self, query, user_id):
        """The person's retrieval score trend (caregivers and viewers)."""
        return circle.person_score_trend(
            viewer_id=current_user_id(), person_id=user_id, period=query["period"]
        )


@blp.route("/parking-events/<id:event_id>/retrieval")
class OwnLiveRetrieval(MethodView):
    @protected(blp, 404)
    @blp.response(200, OwnLiveRetrievalSchema)
    def get(self, event_id):
        """My walk back as it happens, and who can see it (404 outside a walk)."""
        return circle.own_live_retrieval(user_id=current_user_id(), event_id=event_id)


@blp.route("/people/<id:user_id>/retrieval")
class PersonLiveRetrieval(MethodView):
    @protected(blp, 404)
    @transaction
    @blp.response(200, LiveRetrievalSchema)
    def get(self, user_id):
        """The person's walk back in progress: time, distance, trail, help asked (caregivers)."""
        return circle.person_live_retrieval(viewer_id=current_user_id(), person_id=user_id)


@blp.route("/alerts")
class Alerts(MethodView):
    @protected(blp, 422)
    @blp.arguments(AlertQuery, location="query")
    @transaction
    @blp.response(200, AlertPageSchema)
    def get(self, query):
        """My alerts and those of the people I care for, newest first (``?state=``)."""
        return alerting.list_alerts(user_id=current_user_id(), **query)


@blp.route("/alerts/<id:alert_id>")
class AlertItem(MethodView):
    @protected(blp, 404)
    @transaction
    @blp.response(200, AlertSchema)
    def get(self, alert_id):
        """One alert (the person and their caregivers)."""
        return alerting.get_alert(user_id=current_user_id(), alert_id=alert_id)


@blp.route("/alerts/<id:alert_id>/acknowledge")
class AlertAcknowledge(MethodView):
    @protected(blp, 403, 404, 409, 422)
    @blp.arguments(AcknowledgeSchema)
    @transaction
    @blp.response(200, AlertSchema)
    def post(self, body, alert_id):
        """A caregiver is handling it: the person is told (with the ETA), and the others."""
        return alerting.acknowledge_alert(user_id=current_user_id(), alert_id=alert_id, **body)


@blp.route("/alerts/<id:alert_id>/resolve")
class AlertResolve(MethodView):
    @protected(blp, 404, 409, 422)
    @blp.arguments(ResolveSchema)
    @transaction
    @blp.response(200, AlertSchema)
    def post(self, body, alert_id):
        """It is over: the person or a caregiver closes the alert; everyone alerted is told."""
        return alerting.resolve_alert(user_id=current_user_id(), alert_id=alert_id, **body)
