"""Production refuses to start with a development secret, demo users, open CORS or the simulated carrier, and
says which variable to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ops.app import create_app
from ops.settings import Settings, production_problems

SOUND = {
    "ENVIRONMENT": "production", "JWT_SECRET": "x" * 48, "CORS_ORIGIN": "https://app.example.com",
    "TELNYX_API_KEY": "KEY0123", "TELNYX_APP_ID": "app", "TELNYX_PUBLIC_KEY": "MCowBQYDK2VwAyEA",
}


def settings(**env: Any) -> Settings:
    return Settings.model_validate({**SOUND, **env})


def test_a_sound_production_configuration_passes() -> None:
    assert production_problems(settings()) == []
    assert not settings().graphiql_enabled and not settings().seeds_demo
    assert settings().access_token_lifetime.total_seconds() == 15 * 60


@pytest.mark.parametrize(("env", "variable"), [
    ({"JWT_SECRET": ""}, "JWT_SECRET"),
    ({"JWT_SECRET": "short-secret"}, "JWT_SECRET"),
    ({"SEED_DEMO": "true"}, "SEED_DEMO"),
    ({"CORS_ORIGIN": "*"}, "CORS_ORIGIN"),
    ({"CORS_ORIGIN": "https://a.example.com,*"}, "CORS_ORIGIN"),
    ({"CARRIER": "simulated"}, "CARRIER"),
    ({"TELNYX_API_KEY": ""}, "CARRIER"),
    ({"CLIENT_STATE_SECRET": "tiny"}, "CLIENT_STATE_SECRET"),
    ({"TELNYX_PUBLIC_KEY": ""}, "TELNYX_PUBLIC_KEY"),
])
def test_each_unsafe_setting_is_refused_by_name(env: dict[str, str], variable: str) -> None:
    problems = production_problems(settings(**env))
    assert len(problems) == 1 and problems[0].startswith(variable), problems
    with pytest.raises(ValueError, match=variable):
        create_app(settings(**env))


def test_the_defaults_are_refused_all_at_once() -> None:
    problems = production_problems(Settings.model_validate({"ENVIRONMENT": "production"}))
    assert [p.split()[0] for p in problems] == ["JWT_SECRET", "TELNYX_PUBLIC_KEY", "CORS_ORIGIN", "CARRIER:"]


def test_graphiql_in_production_only_when_asked_for() -> None:
    assert not settings().graphiql_enabled
    assert settings(GRAPHIQL="true").graphiql_enabled


def test_development_keeps_its_defaults() -> None:
    dev = Settings.model_validate({"ENVIRONMENT": "development"})
    assert production_problems(dev) == [] and dev.seeds_demo
    assert dev.access_token_lifetime.total_seconds() == 24 * 3600


@pytest.mark.parametrize(("given", "seconds"), [("15m", 900), ("24h", 86400), ("7d", 604800), ("90", 90),
                                                 ("1.5h", 5400)])
def test_durations_take_the_origin_systems_spelling(given: str, seconds: int) -> None:
    assert settings(JWT_EXPIRES_IN=given).access_token_lifetime.total_seconds() == seconds


def test_a_bad_duration_names_the_variable() -> None:
    with pytest.raises(ValueError, match="JWT_EXPIRES_IN"):
        settings(JWT_EXPIRES_IN="soon")


def test_staging_keeps_productions_rules_with_a_rehearsals_tools() -> None:
    staging = settings(ENVIRONMENT="staging", TELNYX_API_KEY="", TELNYX_APP_ID="")
    assert production_problems(staging) == []  # the simulated carrier is allowed
    assert staging.graphiql_enabled and staging.profile.introspection and staging.profile.mask_errors
    assert not staging.seeds_demo and staging.access_token_lifetime.total_seconds() == 3600
    refused = production_problems(settings(ENVIRONMENT="staging", JWT_SECRET="", CORS_ORIGIN="*", SEED_DEMO="1"))
    assert [p.split()[0] for p in refused] == ["JWT_SECRET", "SEED_DEMO", "CORS_ORIGIN"]
    assert all("in staging" in p for p in refused)


def test_check_config_names_every_problem_without_starting_anything(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.servers import ROOT

    def check(**env: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "POSTGRES", "MONGODB", "REDIS"))}
        return subprocess.run([sys.executable, "-m", "ops.cli", "check", "--config"], cwd=tmp_path, timeout=60,
                              env={**clean, "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"), **env},
                              capture_output=True, text=True)

    bad = check(ENVIRONMENT="production", JWT_SECRET="short", CORS_ORIGIN="*", MONGODB_URI="http://db:27017",
                NEO4J_URI="postgres://x", PYTHONPATH=str(ROOT))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    for variable in ("JWT_SECRET", "CORS_ORIGIN", "CARRIER", "TELNYX_PUBLIC_KEY", "MONGODB_URI", "NEO4J_URI"):
        assert f"problem: {variable}" in bad.stdout, (variable, bad.stdout)
    typed = check(MAX_PAGE_SIZE="0", ENVIRONMENT="nowhere", PYTHONPATH=str(ROOT))
    assert typed.returncode == 1 and "MAX_PAGE_SIZE" in typed.stdout and "ENVIRONMENT" in typed.stdout, typed.stdout
    good = check(ENVIRONMENT="development", PYTHONPATH=str(ROOT))
    assert good.returncode == 0 and "configuration valid for development" in good.stdout, good.stdout
    assert not (tmp_path / "data").exists()  # nothing started, nothing written
