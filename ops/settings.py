"""The one settings object. Nothing else in the tree reads the environment."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    test = "test"
    staging = "staging"
    production = "production"


@dataclass(frozen=True)
class Profile:
    """What an ENVIRONMENT turns on; each setting named in the README's table may still override its part."""

    access_token: timedelta  # JWT_EXPIRES_IN overrides
    graphiql: bool  # GRAPHIQL overrides
    introspection: bool
    mask_errors: bool  # unexpected errors answer "Unexpected error." (details in the log only)
    demo_data: bool  # SEED_DEMO overrides outside staging and production, which refuse it
    secrets_required: bool  # JWT_SECRET and TELNYX_PUBLIC_KEY given, no development fallbacks
    real_carrier: bool  # the simulated carrier refused
    cors_wildcard: bool  # CORS_ORIGIN="*" allowed
    json_logs: bool  # JSON lines even on a terminal


PROFILES: dict[Environment, Profile] = {
    Environment.development: Profile(timedelta(hours=24), graphiql=True, introspection=True, mask_errors=False,
                                     demo_data=True, secrets_required=False, real_carrier=False,
                                     cors_wildcard=True, json_logs=False),
    Environment.test: Profile(timedelta(hours=24), graphiql=True, introspection=True, mask_errors=False,
                              demo_data=True, secrets_required=False, real_carrier=False, cors_wildcard=True,
                              json_logs=False),
    # production's rules with the tools a rehearsal needs: GraphiQL, introspection, the simulated carrier
    Environment.staging: Profile(timedelta(hours=1), graphiql=True, introspection=True, mask_errors=True,
                                 demo_data=False, secrets_required=True, real_carrier=False, cors_wildcard=False,
                                 json_logs=True),
    Environment.production: Profile(timedelta(minutes=15), graphiql=False, introspection=False, mask_errors=True,
                                    demo_data=False, secrets_required=True, real_carrier=True,
                                    cors_wildcard=False, json_logs=True),
}


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration(value: Any) -> Any:
    """The origin systems' `.env` spelling ("15m", "24h", "7d", or plain seconds) as a timedelta."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration: use a number with s, m, h, d or w, e.g. 15m or 7d")
        return timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    return value


type Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def parse_json_object(value: Any) -> Any:
    """A JSON object given as text (as `.env` files and validation without the environment source give it)."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return value


type Budgets = Annotated[dict[str, int], BeforeValidator(parse_json_object)]


def parse_ints(value: Any) -> Any:
    """"700,10,10" -> (700, 10, 10); empty: ()."""
    if isinstance(value, str):
        return tuple(int(part) for part in value.split(",") if part.strip())
    return value


type GcThreshold = Annotated[tuple[int, ...], NoDecode, BeforeValidator(parse_ints)]  # not JSON: "700,10,10"

MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Store URLs left empty mean "run the embedded store under `data_dir`"."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Environment = Field(
        Environment.development, validation_alias=AliasChoices("ENVIRONMENT", "NODE_ENV")
    )
    data_dir: Path = Field(Path(".switchboard"), alias="SWITCHBOARD_DATA_DIR")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    # a line per HTTP request costs more than a small query; the metrics count requests. On at LOG_LEVEL=DEBUG.
    access_log: bool = Field(False, alias="ACCESS_LOG")

    postgres_url: str = Field("", alias="POSTGRES_URL")
    # connections kept open per process; past them a query waits for one. Overflow connections are opened past
    # the pool and closed when returned: under steady load beyond the pool they churn (each new one costs a TLS
    # attempt, a handshake and re-preparing statements), which cost the nested routes query 12-18% of its rps
    # at 32 clients against waiting (bench/peers.py); so none by default, for bursts only
    postgres_pool_size: int = Field(20, alias="POSTGRES_POOL_SIZE", ge=1)
    postgres_max_overflow: int = Field(0, alias="POSTGRES_MAX_OVERFLOW", ge=0)
    mongodb_uri: str = Field("", alias="MONGODB_URI")
    mongodb_database: str = Field("switchboard", alias="MONGODB_DATABASE")
    neo4j_uri: str = Field("", alias="NEO4J_URI")
    neo4j_user: str = Field("", alias="NEO4J_USER")
    neo4j_password: SecretStr = Field(SecretStr(""), alias="NEO4J_PASSWORD")
    neo4j_database: str = Field("switchboard", alias="NEO4J_DATABASE")
    redis_url: str = Field("", alias="REDIS_URL")
    chroma_url: str = Field("", alias="CHROMA_URL")

    cors_origin: str = Field("*", alias="CORS_ORIGIN", description="Comma-separated origins allowed by CORS")

    # Identity. Outside production an empty JWT_SECRET means "a random one, kept in the data folder".
    jwt_secret: SecretStr = Field(SecretStr(""), alias="JWT_SECRET")
    jwt_expires_in: Duration | None = Field(None, alias="JWT_EXPIRES_IN", description="24h, or 15m in production")
    jwt_refresh_expires_in: Duration = Field(timedelta(days=30), alias="JWT_REFRESH_EXPIRES_IN")
    # keys the HMAC in Telnyx `client_state`; empty means "derived from the JWT secret"
    client_state_secret: SecretStr = Field(SecretStr(""), alias="CLIENT_STATE_SECRET")
    jwt_issuer: str = Field("switchboard", alias="JWT_ISSUER")
    jwt_audience: str = Field("switchboard-api", alias="JWT_AUDIENCE")
    login_max_attempts: int = Field(5, alias="LOGIN_MAX_ATTEMPTS", ge=1)
    login_lockout: Duration = Field(timedelta(minutes=15), alias="LOGIN_LOCKOUT")
    invite_expires_in: Duration = Field(timedelta(days=7), alias="INVITE_EXPIRES_IN")
    # how often a live subscription re-checks that its session still stands (deactivation, sign-out)
    session_recheck: Duration = Field(timedelta(seconds=5), alias="SESSION_RECHECK")

    # Voice (Telnyx). Without TELNYX_API_KEY, outside production, calls go through the simulated carrier.
    telnyx_api_key: SecretStr = Field(SecretStr(""), alias="TELNYX_API_KEY")
    telnyx_public_key: str = Field("", alias="TELNYX_PUBLIC_KEY")
    telnyx_app_id: str = Field("", alias="TELNYX_APP_ID")
    telnyx_phone_number: str = Field("+15550100000", alias="TELNYX_PHONE_NUMBER")
    telnyx_base_url: str = Field("", alias="TELNYX_BASE_URL", description="API base URL override (a mock in tests)")
    carrier: str = Field("auto", alias="CARRIER", pattern="^(auto|telnyx|simulated)$")
    simulator_target: str = Field("http://127.0.0.1:8000", alias="SIMULATOR_TARGET")
    simulator_pace: float = Field(0.3, alias="SIMULATOR_PACE", ge=0)
    demo_calls_per_minute: float = Field(
        0, alias="DEMO_CALLS_PER_MINUTE", ge=0, le=600,
        description="Development: the server dials this many simulated calls a minute to demo leads inside their "
                    "calling hours (0: off). Needs the simulated carrier; refused in production.",
    )
    webhook_tolerance: int = Field(300, alias="TELNYX_WEBHOOK_TOLERANCE", ge=1)
    subscriber_queue: int = Field(1000, alias="SUBSCRIBER_QUEUE", ge=1)
    archive_retry_after: float = Field(5.0, alias="ARCHIVE_RETRY_AFTER", gt=0)
    archive_max_attempts: int = Field(10, alias="ARCHIVE_MAX_ATTEMPTS", ge=1)
    # the agent's commands (voice/command_outbox.py): how long a webhook's handler has to deliver them before a
    # worker takes over (a live caller is waiting: seconds), and the deliveries before a command is dead-lettered
    command_retry_after: float = Field(2.0, alias="COMMAND_RETRY_AFTER", gt=0)
    command_max_attempts: int = Field(5, alias="COMMAND_MAX_ATTEMPTS", ge=1)
    call_retention: Duration = Field(timedelta(hours=24), alias="CALL_RETENTION")
    # a closer's claim (voice/dialogue.py) outlives the last event of the call it is promised to by this much:
    # the net under a call whose end never arrives; every event of the call renews it, its end releases it
    closer_claim_ttl: Duration = Field(timedelta(hours=1), alias="CLOSER_CLAIM_TTL")
    # Chroma and the graph are projections of MongoDB: how long a lead write waits for them inline, how often
    # the projector looks for pending leads, and the failed attempts before a lead is dead-lettered
    projection_wait: Duration = Field(timedelta(seconds=2), alias="PROJECTION_WAIT")
    projection_poll: Duration = Field(timedelta(seconds=1), alias="PROJECTION_POLL")
    projection_max_attempts: int = Field(10, alias="PROJECTION_MAX_ATTEMPTS", ge=1)
    # how often the server compares Chroma and the graph with MongoDB (the check only); unset: never
    reconcile_interval: Duration | None = Field(None, alias="RECONCILE_INTERVAL")

    # Route planner: solver processes (each solve holds one core for its time limit), the solver, the road
    # network (empty: haversine with a road factor), and how long a job's state stays in Redis
    solver_workers: int = Field(1, alias="SOLVER_WORKERS", ge=1, le=64,
                                description="processes solving optimisation jobs; more jobs wait QUEUED")
    solver: str = Field("pyvrp", alias="SOLVER", description="pyvrp, ortools, vroom or nearest")
    osrm_url: str = Field("", alias="OSRM_URL", description="an OSRM server for road travel matrices")
    job_ttl: Duration = Field(timedelta(hours=24), alias="JOB_TTL", description="optimisation jobs kept in Redis")

    # GraphQL
    max_page_size: int = Field(100, alias="MAX_PAGE_SIZE", ge=1)
    debug_stats: bool = Field(False, alias="SWITCHBOARD_DEBUG_STATS")
    document_cache_size: int = Field(1024, alias="DOCUMENT_CACHE_SIZE", ge=0)
    # the cycle collector (ops/heap.py): the start-up heap frozen out of every collection, and the thresholds of
    # its three generations ("gen0,gen1,gen2"; empty: Python's own 2000,10,10). With 10,000 subscriptions, Python's
    # own ran 57 young, 5 middle and a full collection per event or two: 2.7 s of each event's 4.3 s; these, 0.2 s
    gc_freeze: bool = Field(True, alias="GC_FREEZE")
    gc_threshold: GcThreshold = Field((50_000, 20, 100), alias="GC_THRESHOLD", max_length=3)
    compiled_queries: bool = Field(True, alias="COMPILED_QUERIES", description="answer fleet queries with one "
                                   "PostgreSQL statement (ops/compiled.py); 0: always the interpreted path")
    prepared_operations: bool = Field(True, alias="PREPARED_OPERATIONS", description="answer an HTTP query "
                                      "answered by a compiled plan before without Strawberry's view and extensions "
                                      "(ops/prepared.py); needs COMPILED_QUERIES")
    graphiql: bool | None = Field(None, alias="GRAPHIQL")

    # Limits (cost, budgets, documents, protocol). Each block is read by one module: ops/limits.py (cost and
    # budgets), ops/documents.py (persisted and trusted documents), ops/hardening.py (HTTP and WebSocket caps).
    max_query_cost: int = Field(10_000, alias="MAX_QUERY_COST", ge=1, description="static cost per operation")
    cost_budget: int = Field(50_000, alias="COST_BUDGET", ge=1, description="bucket size per principal")
    cost_restore_rate: float = Field(1_000.0, alias="COST_RESTORE_RATE", gt=0, description="points per second")
    # JSON objects overriding the budget: by role ({"viewer": 20000}) and by API key prefix ({"sbk_AbC123": 5000})
    cost_budget_by_role: Budgets = Field(default_factory=dict, alias="COST_BUDGET_BY_ROLE")
    cost_budget_by_api_key: Budgets = Field(default_factory=dict, alias="COST_BUDGET_BY_API_KEY")
    # the origin systems' request limit, kept for anonymous sign-in attempts per client IP
    rate_limit_window_ms: int = Field(900_000, alias="RATE_LIMIT_WINDOW_MS", ge=1)
    rate_limit_max_requests: int = Field(100, alias="RATE_LIMIT_MAX_REQUESTS", ge=1)
    webhook_rate_limit: str = Field("6000/minute", alias="WEBHOOK_RATE_LIMIT", description="per sending IP")
    trusted_documents_only: bool = Field(False, alias="TRUSTED_DOCUMENTS_ONLY")
    trusted_documents: Path | None = Field(None, alias="TRUSTED_DOCUMENTS", description="manifest: hash -> document")
    persisted_query_ttl: Duration = Field(timedelta(days=7), alias="PERSISTED_QUERY_TTL")
    max_body_bytes: int = Field(1_048_576, alias="MAX_BODY_BYTES", ge=1024)
    max_variables_bytes: int = Field(262_144, alias="MAX_VARIABLES_BYTES", ge=256)
    ws_init_timeout: Duration = Field(timedelta(seconds=10), alias="WS_INIT_TIMEOUT")
    ws_max_message_bytes: int = Field(65_536, alias="WS_MAX_MESSAGE_BYTES", ge=1024)
    # permessage-deflate compresses every frame on its own: a subscription event (a few hundred bytes) gains
    # little, and each socket keeps a compressor (bench/live_calls.py --mode fanout measures both ways)
    ws_per_message_deflate: bool = Field(False, alias="WS_PER_MESSAGE_DEFLATE")
    ws_max_subscriptions: int = Field(20, alias="WS_MAX_SUBSCRIPTIONS", ge=1, description="per connection")
    ws_max_connections: int = Field(10, alias="WS_MAX_CONNECTIONS", ge=1, description="per principal, per replica")

    # Apply migrations at start-up (production runs `switchboard migrate` as its own step instead)
    auto_migrate: bool = Field(True, alias="AUTO_MIGRATE")

    # Demo data (and demo users, one per role) on the first start of an empty store; never in production
    seed_demo: bool | None = Field(None, alias="SEED_DEMO")
    demo_leads: int = Field(300, alias="DEMO_LEADS", ge=0)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def profile(self) -> Profile:
        return PROFILES[self.environment]

    @property
    def access_token_lifetime(self) -> timedelta:
        if self.jwt_expires_in is not None:
            return self.jwt_expires_in
        return self.profile.access_token

    @property
    def seeds_demo(self) -> bool:
        return self.profile.demo_data if self.seed_demo is None else self.seed_demo

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origin.split(",") if o.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return self.profile.graphiql if self.graphiql is None else self.graphiql


def production_problems(settings: Settings) -> list[str]:
    """What staging and production refuse to start with, each naming its variable (empty in development)."""
    profile, env = settings.profile, settings.environment.value
    problems = []
    if profile.secrets_required:
        secret = settings.jwt_secret.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            problems.append(f"JWT_SECRET must be set to at least {MIN_SECRET_LENGTH} random characters in {env}"
                            f" (it is {'missing' if not secret else f'{len(secret)} characters'})")
        client_secret = settings.client_state_secret.get_secret_value()
        if client_secret and len(client_secret) < MIN_SECRET_LENGTH:
            problems.append(f"CLIENT_STATE_SECRET must be at least {MIN_SECRET_LENGTH} characters (or unset)")
        if not settings.telnyx_public_key:
            problems.append(f"TELNYX_PUBLIC_KEY must be set in {env}: webhooks cannot be verified without it")
    if profile.secrets_required and settings.seed_demo:
        problems.append(f"SEED_DEMO must not be on in {env}: demo users have published passwords")
    if profile.secrets_required and settings.demo_calls_per_minute:
        problems.append(f"DEMO_CALLS_PER_MINUTE must be 0 in {env}: it dials demo leads")
    if not profile.cors_wildcard and "*" in settings.cors_origins:
        problems.append(f"CORS_ORIGIN must list the allowed origins in {env} (or be empty for none), not '*'")
    if profile.real_carrier and (settings.carrier == "simulated" or (
        settings.carrier == "auto" and not settings.telnyx_api_key.get_secret_value()
    )):
        problems.append(f"CARRIER: {env} needs the Telnyx carrier (set TELNYX_API_KEY and TELNYX_APP_ID), "
                        "not the simulated development carrier")
    return problems
