"""The current user's profile and password."""

from __future__ import annotations

from flask.views import MethodView

from app.api.blueprint import Blueprint
from app.api.common import protected
from app.auth import current_session, current_user
from app.schemas.users import PasswordChangeSchema, ProfileUpdateSchema, UserSchema
from app.services import users

URL_PREFIX = "/me"
blp = Blueprint("me", __name__, description="The current user.")


@blp.route("")
class Me(MethodView):
    @protected(blp)
    @blp.response(200, UserSchema)
    def get(self):
        """The current user."""
        return current_user()

    @protected(blp, 409, 422)
    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, changes):
        """Update the profile (never role or is_active)."""
        return users.update_profile(current_user(), changes)


@blp.route("/password")
class Password(MethodView):
    @protected(blp, 422)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, body):
        """Change the password; every other session is revoked."""
        users.change_password(
            user=current_user(),
            current_password=body["current_password"],
            new_password=body["new_password"],
            session_id=current_session().id,
        )
