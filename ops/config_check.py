"""`switchboard check --config`: every problem of a configuration, found without starting anything.

Three kinds, each naming its variable: a value the settings refuse (type, range, pattern), what the environment's
profile refuses (`production_problems`: secrets, CORS, demo data, the carrier), and a store URL of a scheme no
adapter takes. Nothing connects: a URL that parses is not a server that answers (`switchboard check` pings).
"""

from __future__ import annotations

from pydantic import ValidationError

from datasources.graph import BOLT_SCHEMES, FALKORDB_SCHEMES
from datasources.mongo.client import SCHEMES as MONGO_SCHEMES
from datasources.postgres.engine import normalise_url
from datasources.redis.client import SCHEMES as REDIS_SCHEMES
from ops.settings import Settings, production_problems


def _scheme(url: str) -> str:
    return url.partition("://")[0].lower()


def url_problems(settings: Settings) -> list[str]:
    problems = []
    if settings.postgres_url:
        try:
            normalise_url(settings.postgres_url)
        except ValueError as exc:
            problems.append(str(exc))
    if settings.mongodb_uri and not settings.mongodb_uri.startswith(MONGO_SCHEMES):
        problems.append(f"MONGODB_URI: unsupported scheme {_scheme(settings.mongodb_uri)!r} "
                        "(use mongodb:// or mongodb+srv://)")
    if settings.neo4j_uri and _scheme(settings.neo4j_uri) not in FALKORDB_SCHEMES | BOLT_SCHEMES:
        problems.append(f"NEO4J_URI: unsupported scheme {_scheme(settings.neo4j_uri)!r} "
                        "(use bolt://, neo4j:// or falkordb://)")
    if settings.redis_url and not settings.redis_url.startswith(REDIS_SCHEMES):
        problems.append(f"REDIS_URL: unsupported scheme {_scheme(settings.redis_url)!r} "
                        "(use redis://, rediss:// or unix://)")
    if settings.chroma_url and _scheme(settings.chroma_url) not in ("http", "https"):
        problems.append(f"CHROMA_URL: unsupported scheme {_scheme(settings.chroma_url)!r} (use http:// or https://)")
    return problems


def configuration_problems() -> list[str]:
    """Every problem of the configuration in the environment and `.env`; empty when it would start."""
    try:
        settings = Settings()
    except ValidationError as exc:
        return [f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()]
    return production_problems(settings) + url_problems(settings)
