"""factory_boy factories for every model, writing through the test's session."""

from __future__ import annotations

from functools import lru_cache

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app import models
from app.extensions import db

PASSWORD = "correct-horse-battery"


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # Hashed once with the testing cost parameters; every factory user shares it.
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(BaseFactory):
    class Meta:
        model = models.User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password_hash = factory.LazyFunction(_password_hash)
    full_name = factory.Faker("name")
    role = "user"
    is_active = True
    preferences = factory.LazyFunction(dict)
