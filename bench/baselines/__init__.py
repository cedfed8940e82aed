"""Baselines served under the same gunicorn settings as the app, in the same run.

``bare``: a WSGI callable returning small JSON. ``flask_min``: a minimal Flask app.
``same_work``: a minimal Flask app doing each measured endpoint's work plainly, with the same
libraries (PyJWT, SQLAlchemy, redis-py): token check, the session lookup, the same queries.
"""
