"""Parking memory: events, landmarks, retrieval, scores."""

from __future__ import annotations

from flask.views import MethodView

from app.parking import live, retrieval, scores
from app.parking import service as parking
from app.parking.live_schemas import PositionsAcceptedSchema, PositionsBatchSchema
from app.parking.schemas import (
    AssistRequestSchema,
    AssistResponseSchema,
    DirectionsQuery,
    DirectionsSchema,
    LandmarkCreateSchema,
    LandmarkSchema,
    LandmarkUpdateSchema,
    ParkingEventCreateSchema,
    ParkingEventListQuery,
    ParkingEventSchema,
    ParkingEventUpdateSchema,
    PositionSchema,
    RetrievalCompleteSchema,
    ScoreListQuery,
    ScoreSchema,
    ScoreTrendQuery,
    ScoreTrendSchema,
)
from app.platform.auth import current_user_id
from app.platform.blueprint import Blueprint
from app.platform.schemas import history_page_of, page_of
from app.platform.transactions import transaction
from app.platform.web import created, protected

blp = Blueprint(
    "parking", __name__, description="Parking memory: events, landmarks, retrieval, scores."
)


@blp.route("/parking-events")
class ParkingEvents(MethodView):
    @protected(blp, 422)
    @blp.arguments(ParkingEventListQuery, location="query")
    @blp.response(200, history_page_of(ParkingEventSchema))
    def get(self, query):
        """My parking events, newest first, optionally of one ``status``."""
        return parking.list_events(user_id=current_user_id(), **query)

    @protected(blp, 404, 409, 422)
    @blp.arguments(ParkingEventCreateSchema)
    # The answer is serialised after the commit: on SQLite the write lock covers the writes only.
    @blp.response(201, ParkingEventSchema)
    @blp.alt_response(200, schema=ParkingEventSchema, description="A repeated `client_uuid`.")
    @transaction
    def post(self, data):
        """Save where I parked (a repeated ``client_uuid`` returns the first event with 200)."""
        event, is_new = parking.create_event(user_id=current_user_id(), data=data)
        if not is_new:
            return event, 200
        return created(event, "parking.ParkingEventItem", event_id=event["id"])


@blp.route("/parking-events/latest-active")
class LatestActiveEvent(MethodView):
    @protected(blp, 404)
    @blp.response(200, ParkingEventSchema)
    def get(self):
        """My newest event that is active or being retrieved (404 ``no_active_event``)."""
        return parking.require_latest_active_event(user_id=current_user_id())


@blp.route("/parking-events/<id:event_id>")
class ParkingEventItem(MethodView):
    @protected(blp, 404)
    @blp.response(200, ParkingEventSchema)
    def get(self, event_id):
        """One of my events, with landmarks, photo and score."""
        return parking.show_event(user_id=current_user_id(), event_id=event_id)

    @protected(blp, 404, 409, 422)
    @blp.arguments(ParkingEventUpdateSchema)
    @transaction
    @blp.response(200, ParkingEventSchema)
    def patch(self, changes, event_id):
        """Correct the pin, notes, level, spot or photo (the status is never patchable)."""
        return parking.update_event(user_id=current_user_id(), event_id=event_id, changes=changes)

    @protected(blp, 404)
    @transaction
    @blp.response(204)
    def delete(self, event_id):
        """Delete an event with its landmarks, help log and score; photos are discarded."""
        parking.delete_event(user_id=current_user_id(), event_id=event_id)


@blp.route("/parking-events/<id:event_id>/landmarks")
class EventLandmarks(MethodView):
    @protected(blp, 404)
    @blp.response(200, LandmarkSchema(many=True))
    def get(self, event_id):
        """The landmarks I noted near the car."""
        return parking.list_landmarks(user_id=current_user_id(), event_id=event_id)

    @protected(blp, 404, 409, 422)
    @blp.arguments(LandmarkCreateSchema)
    @transaction
    @blp.response(201, LandmarkSchema)
    def post(self, data, event_id):
        """Add a landmark (at most 10 per event: 409 ``too_many_landmarks``)."""
        landmark = parking.add_landmark(user_id=current_user_id(), event_id=event_id, data=data)
        return created(landmark, "parking.LandmarkItem", landmark_id=landmark.id)


@blp.route("/landmarks/<id:landmark_id>")
class LandmarkItem(MethodView):
    @protected(blp, 404, 409, 422)
    @blp.arguments(LandmarkUpdateSchema)
    @transaction
    @blp.response(200, LandmarkSchema)
    def patch(self, changes, landmark_id):
        """Correct a landmark."""
        return parking.update_landmark(
            user_id=current_user_id(), landmark_id=landmark_id, changes=changes
        )

    @protected(blp, 404)
    @transaction
    @blp.response(204)
    def delete(self, landmark_id):
        """Remove a landmark."""
        parking.delete_landmark(user_id=current_user_id(), landmark_id=landmark_id)


@blp.route("/parking-events/<id:event_id>/directions")
class Directions(MethodView):
    @protected(blp, 404, 422)
    @blp.arguments(DirectionsQuery, location="query")
    @blp.response(200, DirectionsSchema)
    def get(self, query, event_id):
        """Distance, bearing and walking links from ``?from=lat,lng`` to the car."""
        return retrieval.directions(
            user_id=current_user_id(), event_id=event_id, position=query.get("from_")
        )


@blp.route("/parking-events/<id:event_id>/retrieval/start")
class RetrievalStart(MethodView):
    @protected(blp, 404, 409, 422)
    @blp.arguments(PositionSchema, required=False)
    @transaction
    @blp.response(200, ParkingEventSchema)
    def post(self, body, event_id):
        """Start walking back (active → retrieving); the answer holds ``expected_seconds``."""
        return retrieval.start_retrieval(
            user_id=current_user_id(),
            event_id=event_id,
            latitude=body.get("latitude"),
            longitude=body.get("longitude"),
        )


@blp.route("/parking-events/<id:event_id>/retrieval/pause")
class RetrievalPause(MethodView):
    @protected(blp, 404, 409)
    @transaction
    @blp.response(200, ParkingEventSchema)
    def post(self, event_id):
        """Pause the walk back; paused time does not count."""
        return retrieval.pause_retrieval(user_id=current_user_id(), event_id=event_id)


@blp.route("/parking-events/<id:event_id>/retrieval/resume")
class RetrievalResume(MethodView):
    @protected(blp, 404, 409)
    @transaction
    @blp.response(200, ParkingEventSchema)
    def post(self, event_id):
        """Resume a paused walk back."""
        return retrieval.resume_retrieval(user_id=current_user_id(), event_id=event_id)


@blp.route("/parking-events/<id:event_id>/retrieval/complete")
class RetrievalComplete(MethodView):
    @protected(blp, 404, 409, 422)
    @blp.arguments(RetrievalCompleteSchema)
    @transaction
    @blp.response(200, ParkingEventSchema)
    def post(self, body, event_id):
        """Finish (retrieving → retrieved); the server computes and stores the score."""
        return retrieval.complete_retrieval(
            user_id=current_user_id(), event_id=event_id, found=body["found"], recall=body["recall"]
        )


@blp.route("/parking-events/<id:event_id>/retrieval/positions")
class RetrievalPositions(MethodView):
    @protected(blp, 404, 409, 422)
    @blp.arguments(PositionsBatchSchema)
    @transaction
    @blp.response(202, PositionsAcceptedSchema)
    def post(self, body, event_id):
        """Where the phone has been during the walk back (1-100 positions, any order)."""
        accepted = live.record_positions(
            user_id=current_user_id(), event_id=event_id, positions=body["positions"]
        )
        return accepted, 202


@blp.route("/parking-events/<id:event_id>/assist")
class Assist(MethodView):
    @protected(blp, 404, 409, 422)
    @blp.arguments(AssistRequestSchema)
    @transaction
    @blp.response(200, AssistResponseSchema)
    def post(self, body, event_id):
        """Help at one level: 1 notes, 2 landmarks, 3 the way, 4 call me, 5 SOS (logged)."""
        return retrieval.request_assist(user_id=current_user_id(), event_id=event_id, **body)


@blp.route("/parking-events/<id:event_id>/score")
class EventScore(MethodView):
    @protected(blp, 404, 409)
    @blp.response(200, ScoreSchema)
    def get(self, event_id):
        """A retrieval's score with every part and ``score_version`` (409 ``no_score`` before)."""
        return scores.get_score(user_id=current_user_id(), event_id=event_id)


@blp.route("/scores")
class Scores(MethodView):
    @protected(blp, 422)
    @blp.arguments(ScoreListQuery, location="query")
    @blp.response(200, page_of(ScoreSchema))
    def get(self, query):
        """My scores, newest first, completed at or after ``from`` and before ``to``."""
        return scores.list_scores(
            user_id=current_user_id(),
            start=query.get("from_"),
            end=query.get("to"),
            page=query["page"],
            per_page=query["per_page"],
        )


@blp.route("/scores/trend")
class ScoreTrend(MethodView):
    @protected(blp, 422)
    @blp.arguments(ScoreTrendQuery, location="query")
    @blp.response(200, ScoreTrendSchema(many=True))
    def get(self, query):
        """Per week or month, oldest first: count, mean score, time ratio and assist level."""
        return scores.score_trend(user_id=current_user_id(), period=query["period"])
