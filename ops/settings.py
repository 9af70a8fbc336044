"""The one settings object. Nothing else in the tree reads the environment."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    """Store URLs left empty mean "run the embedded store under `data_dir`"."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Environment = Field(
        Environment.development, validation_alias=AliasChoices("ENVIRONMENT", "NODE_ENV")
    )
    data_dir: Path = Field(Path(".switchboard"), alias="SWITCHBOARD_DATA_DIR")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    postgres_url: str = Field("", alias="POSTGRES_URL")
    mongodb_uri: str = Field("", alias="MONGODB_URI")
    mongodb_database: str = Field("switchboard", alias="MONGODB_DATABASE")
    neo4j_uri: str = Field("", alias="NEO4J_URI")
    neo4j_user: str = Field("", alias="NEO4J_USER")
    neo4j_password: SecretStr = Field(SecretStr(""), alias="NEO4J_PASSWORD")
    neo4j_database: str = Field("switchboard", alias="NEO4J_DATABASE")
    redis_url: str = Field("", alias="REDIS_URL")
    chroma_url: str = Field("", alias="CHROMA_URL")

    cors_origin: str = Field("*", alias="CORS_ORIGIN", description="Comma-separated origins allowed by CORS")

    # Voice (Telnyx). Without TELNYX_API_KEY, outside production, calls go through the simulated carrier.
    telnyx_api_key: SecretStr = Field(SecretStr(""), alias="TELNYX_API_KEY")
    telnyx_public_key: str = Field("", alias="TELNYX_PUBLIC_KEY")
    telnyx_app_id: str = Field("", alias="TELNYX_APP_ID")
    telnyx_phone_number: str = Field("+15550100000", alias="TELNYX_PHONE_NUMBER")
    telnyx_base_url: str = Field("", alias="TELNYX_BASE_URL", description="API base URL override (a mock in tests)")
    carrier: str = Field("auto", alias="CARRIER", pattern="^(auto|telnyx|simulated)$")
    simulator_target: str = Field("http://127.0.0.1:8000", alias="SIMULATOR_TARGET")
    simulator_pace: float = Field(0.3, alias="SIMULATOR_PACE", ge=0)
    webhook_tolerance: int = Field(300, alias="TELNYX_WEBHOOK_TOLERANCE", ge=1)
    subscriber_queue: int = Field(1000, alias="SUBSCRIBER_QUEUE", ge=1)
    archive_retry_after: float = Field(5.0, alias="ARCHIVE_RETRY_AFTER", gt=0)

    # GraphQL
    max_page_size: int = Field(100, alias="MAX_PAGE_SIZE", ge=1)
    debug_stats: bool = Field(False, alias="SWITCHBOARD_DEBUG_STATS")
    document_cache_size: int = Field(1024, alias="DOCUMENT_CACHE_SIZE", ge=0)
    graphiql: bool | None = Field(None, alias="GRAPHIQL")

    # Apply migrations at start-up (production runs `switchboard migrate` as its own step instead)
    auto_migrate: bool = Field(True, alias="AUTO_MIGRATE")

    # Demo data on the first start of an empty embedded store
    seed_demo: bool = Field(True, alias="SEED_DEMO")
    demo_leads: int = Field(300, alias="DEMO_LEADS", ge=0)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origin.split(",") if o.strip()]

    @property
    def graphiql_enabled(self) -> bool:
        return (not self.is_production) if self.graphiql is None else self.graphiql
