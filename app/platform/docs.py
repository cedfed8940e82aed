"""Swagger UI 5 (it renders OpenAPI 3.1) served by the app itself, so ``/api/docs`` works on a
closed network. The files come from the swagger-ui-py wheel; only its static folder is used."""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from flask import Flask, send_from_directory

swagger_ui_path = str(Path(swagger_ui.__file__).parent / "static")


def register(app: Flask) -> None:
    """Serve the Swagger UI bundle under ``/api/docs/assets/``."""

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_ui_asset(filename: str):
        response = send_from_directory(swagger_ui_path, filename, max_age=86400)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response
