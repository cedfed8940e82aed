"""Swagger UI assets served by the app itself, so ``/api/docs`` works on a closed network."""

from __future__ import annotations

from flask import Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path


def register(app: Flask) -> None:
    """Serve the Swagger UI bundle under ``/api/docs/assets/``."""

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_ui_asset(filename: str):
        response = send_from_directory(swagger_ui_path, filename, max_age=86400)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response
