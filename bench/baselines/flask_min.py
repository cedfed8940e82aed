"""A minimal Flask app: the framework's own cost per request."""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/", defaults={"path": ""})
@app.get("/<path:path>")
def hello(path: str):
    """Small JSON for any path."""
    return jsonify(status="ok")
