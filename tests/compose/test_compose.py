"""Static checks of compose/: no Docker engine runs here, so the deployment files are validated by reading them.

They are held against the code they deploy: the settings the app knows, the console script and commands it
installs, the routes it serves and the metrics it exports, and against compose's own JSON schema (the copy
check-jsonschema vendors). promtool and `docker compose config` add their own checks where they are installed
(skipped otherwise).
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml
from dotenv import dotenv_values
from pydantic import AliasChoices

from ops.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"
PROD = COMPOSE / "docker-compose.yml"
DEV = COMPOSE / "docker-compose.dev.yml"
FILES = [PROD, DEV]
ENV_EXAMPLE = COMPOSE / ".env.example"
DOCKERFILE = COMPOSE / "Dockerfile"
PROMETHEUS = COMPOSE / "prometheus" / "prometheus.yml"
ALERTS = COMPOSE / "prometheus" / "alerts.yml"
ALERT_TESTS = COMPOSE / "prometheus" / "alerts.test.yml"
DATASOURCES = COMPOSE / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = COMPOSE / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
DASHBOARD = COMPOSE / "grafana" / "dashboards" / "switchboard.json"

# Store service -> (the setting holding its URL, the port its image listens on).
STORES = {
    "postgres": ("POSTGRES_URL", 5432),
    "mongodb": ("MONGODB_URI", 27017),
    "neo4j": ("NEO4J_URI", 7687),
    "redis": ("REDIS_URL", 6379),
    "chroma": ("CHROMA_URL", 8000),
}
# Read from the limits issue on: allowed in the API's environment before Settings knows them.
FUTURE: set[str] = set()
FUTURE_PREFIXES = ("RATE_LIMIT_",)
APP_SERVICES = ("api", "migrate")
SEVERITIES = {"critical", "warning", "info"}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}
PROMETHEUS_BUILTINS = {"up"}  # written by Prometheus itself for every target
# the process collector ops/metrics_readings.py registers (prometheus_client's ProcessCollector)
PROCESS_METRICS = {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"}

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+alt}, ${NAME+alt}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


# ---------------------------------------------------------------------------------------------------------------
# Loading


@cache
def raw(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name} is not a YAML mapping"
    return data


@cache
def env_example() -> dict[str, str]:
    values = dotenv_values(ENV_EXAMPLE)
    return {k: v or "" for k, v in values.items()}


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of one string (`$$` is a literal `$`)."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        if op is None:
            return value or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?"):
            if value is None or (op == ":?" and not value):
                raise AssertionError(f"required variable {name} is not set: {arg}")
            return value
        if op == ":+":
            return arg if value else ""
        return arg if value is not None else ""  # "+"

    return INTERPOLATION.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def interpolated(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {k: interpolated(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolated(v, env) for v in node]
    return node


@cache
def resolved(path: Path) -> dict[str, Any]:
    """The compose file as `docker compose --env-file compose/.env.example config` would see it."""
    return interpolated(raw(path), env_example())


def services(path: Path) -> dict[str, dict[str, Any]]:
    return resolved(path)["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def ports(service: dict[str, Any]) -> list[tuple[str | None, int | None, int]]:
    """(host ip, host port, container port) of each published port."""
    out = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            out.append((entry.get("host_ip"), int(published) if published else None, int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        ip = parts[0] if len(parts) == 3 else None
        host = int(parts[-2]) if len(parts) >= 2 else None
        out.append((ip, host, int(parts[-1])))
    return out


def container_ports(service: dict[str, Any]) -> set[int]:
    found = {container for _, _, container in ports(service)}
    found |= {int(str(p).split("/")[0]) for p in service.get("expose") or []}
    command = service.get("command") or []
    if isinstance(command, list) and "--port" in command:
        found.add(int(command[command.index("--port") + 1]))
    return found


def volumes(service: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(type, source, target) of each mount."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            yield entry.get("type", "volume"), entry.get("source", ""), entry["target"]
            continue
        source, target, *_ = str(entry).split(":")
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        yield kind, source, target


@cache
def settings_env_names() -> dict[str, frozenset[str]]:
    """Field -> the environment names that set it, from Settings' aliases (a renamed setting changes them)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: dict[str, frozenset[str]] = {}
    for field_name, field in Settings.model_fields.items():
        found: set[str] = set()
        if field.alias:
            found.add(field.alias)
        alias = field.validation_alias
        if isinstance(alias, str):
            found.add(alias)
        elif isinstance(alias, AliasChoices):
            found |= {choice for choice in alias.choices if isinstance(choice, str)}
        names[field_name] = frozenset(found or {f"{prefix}{field_name}".upper()})
    return names


def known_env_names() -> set[str]:
    return set().union(*settings_env_names().values())


def is_future(name: str) -> bool:
    return name in FUTURE or name.startswith(FUTURE_PREFIXES)


def settings_from(env: Mapping[str, str]) -> Settings:
    known = known_env_names()
    # validation only: neither the process environment nor a .env file is read
    return Settings.model_validate({k: v for k, v in env.items() if k in known})


@cache
def app_metrics() -> dict[str, set[str]]:
    """Metric -> the series names Prometheus stores for it, from the collectors ops/metrics.py creates and the
    families ops/metrics_readings.py yields at scrape time."""
    found: dict[str, set[str]] = {}
    nodes = (node for module in ("metrics.py", "metrics_readings.py")
             for node in ast.walk(ast.parse((ROOT / "ops" / module).read_text())))
    for node in nodes:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        name, kind = first.value, node.func.id
        if kind == "Counter":
            base = name.removesuffix("_total")
            found[name] = {f"{base}_total"}
        elif kind == "Histogram":
            found[name] = {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
        elif kind == "Summary":
            found[name] = {name, f"{name}_count", f"{name}_sum"}
        elif kind in ("Gauge", "GaugeMetricFamily"):
            found[name] = {name}
    return found


def metric_names(expr: str) -> set[str]:
    """Series names a PromQL expression selects (strings, matchers, ranges and groupings stripped)."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])([A-Za-z_:][\w:]*)\b(?!\s*\()", expr):
        if match[1].lower() not in PROMQL_KEYWORDS:
            names.add(match[1])
    return names


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in raw(ALERTS)["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


@cache
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments and heredoc bodies left out."""
    instructions: list[tuple[str, str]] = []
    lines = iter(DOCKERFILE.read_text().splitlines())
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        while line.endswith("\\"):
            nxt = next(lines)
            if not nxt.lstrip().startswith("#"):
                line = line[:-1] + " " + nxt.strip()
        keyword, _, args = line.strip().partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", args) if keyword.upper() == "RUN" else None
        if heredoc:
            for body in lines:
                if body.strip() == heredoc[1]:
                    break
    return instructions


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"not exec form: {args}"
    return value


def app_routes() -> set[str]:
    return set(re.findall(r'Route\(\s*"([^"]+)"', (ROOT / "ops" / "app.py").read_text()))


def cli_commands() -> set[str]:
    from ops.cli import app

    return {info.name or getattr(info.callback, "__name__", "").replace("_", "-") for info in app.registered_commands}


@cache
def console_scripts() -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


# ---------------------------------------------------------------------------------------------------------------
# Both compose files


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_depends_on_names_existing_services(path: Path) -> None:
    defined = set(services(path))
    missing = {
        (name, dep) for name, service in services(path).items() for dep in depends_on(service) if dep not in defined
    }
    assert missing == set()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_store_has_a_healthcheck(path: Path) -> None:
    for store in STORES:
        service = services(path).get(store)
        assert service is not None, f"{path.name} has no {store} service"
        check = service.get("healthcheck") or {}
        assert not check.get("disable"), f"{store}: healthcheck disabled"
        test = check.get("test")
        assert test and test not in (["NONE"], "NONE"), f"{path.name}: {store} has no healthcheck"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL"), f"{store}: healthcheck test must start with CMD or CMD-SHELL"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_named_volumes_are_declared_and_bind_sources_exist(path: Path) -> None:
    declared = set(raw(path).get("volumes") or {})
    used = set()
    for name, service in services(path).items():
        for kind, source, target in volumes(service):
            assert target.startswith("/"), f"{name}: mount target {target!r} is not absolute"
            if kind == "volume":
                assert source in declared, f"{name} mounts undeclared volume {source!r}"
                used.add(source)
            elif kind == "bind":
                assert (path.parent / source).exists(), f"{name} mounts {source!r}, which is not in compose/"
    assert declared - used == set(), "declared volumes no service mounts"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_service_is_on_the_one_declared_network(path: Path) -> None:
    declared = set(raw(path).get("networks") or {})
    assert len(declared) == 1, f"{path.name} should declare exactly one network"
    for name, service in services(path).items():
        assert set(service.get("networks") or []) == declared, f"{name} is not on {declared}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_interpolated_variable_is_in_env_example(path: Path) -> None:
    text = path.read_text().replace("$$", "")
    used = {m["name"] for m in INTERPOLATION.finditer(text)}
    assert used - set(env_example()) == set()
    # $NAME without braces would be interpolated too, unseen by the check above
    assert re.findall(r"\$[A-Za-z_]", text) == []


@cache
def compose_spec() -> jsonschema.protocols.Validator:
    """Compose's own JSON schema, as check-jsonschema vendors it (`--builtin-schema vendor.compose-spec`)."""
    schema = json.loads(files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def spec_errors(document: dict[str, Any]) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in compose_spec().iter_errors(document)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_compose_files_match_the_compose_spec(path: Path) -> None:
    """What `docker compose config` checks first, offline: the file, before and after interpolation."""
    assert spec_errors(raw(path)) == []
    assert spec_errors(resolved(path)) == []


@pytest.mark.parametrize(
    ("service", "key", "value", "path"),
    [
        ("redis", "healthchek", {"test": ["CMD", "true"]}, "services.redis"),  # a misspelt key
        ("api", "depends_on", {"migrate": {"condition": "service_done"}}, "services.api.depends_on"),
        ("redis", "ports", "6379:6379", "services.redis.ports"),  # a string where a list belongs
        ("redis", "restart", ["always"], "services.redis.restart"),
    ],
)
def test_the_compose_spec_check_catches_mistakes(service: str, key: str, value: Any, path: str) -> None:
    broken = copy.deepcopy(resolved(PROD))
    broken["services"][service][key] = value
    errors = spec_errors(broken)
    assert any(e.startswith(f"{path}:") for e in errors), errors


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_compose_config_with_docker_cli(path: Path) -> None:
    """Compose's own validation, offline (no engine needed), where the compose plugin is installed."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker CLI not installed")
    version = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if version.returncode != 0:
        pytest.skip("docker CLI has no compose plugin (`docker compose version` fails)")
    done = subprocess.run(
        [docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(path), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------------------------------------------------
# The production stack


def test_api_waits_for_healthy_stores_and_a_successful_migration() -> None:
    svc = services(PROD)
    api, migrate = depends_on(svc["api"]), depends_on(svc["migrate"])
    assert api.get("migrate") == "service_completed_successfully"
    for store in STORES:
        assert api.get(store) == "service_healthy", f"api does not wait for {store} to be healthy"
        assert migrate.get(store) == "service_healthy", f"migrate does not wait for {store} to be healthy"
    assert svc["migrate"]["command"][:2] == ["switchboard", "migrate"]
    assert svc["migrate"].get("restart", "no") == "no", "a one-shot service must not restart"
    assert svc["api"]["image"] == svc["migrate"]["image"], "migrate must run the API's image"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_names_are_settings(name: str) -> None:
    env = environment(services(PROD)[name])
    unknown = {k for k in env if k not in known_env_names() and not is_future(k)}
    assert unknown == set(), "not a setting of ops.settings.Settings (renamed?) nor a listed future one"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_is_production_against_the_compose_stores(name: str) -> None:
    svc = services(PROD)
    env = environment(svc[name])
    settings = settings_from(env)
    assert settings.is_production
    assert not settings.graphiql_enabled
    assert not settings.auto_migrate, "the migrate service applies migrations"
    assert not settings.seeds_demo
    waits_for = depends_on(svc[name])
    for store, (setting, port) in STORES.items():
        url = urlsplit(env[setting])
        assert url.hostname == store, f"{setting} does not point at the {store} service"
        assert url.port == port, f"{setting}: {store} listens on {port}"
        assert waits_for.get(store) == "service_healthy"


def test_app_credentials_match_the_stores() -> None:
    svc = services(PROD)
    env = environment(svc["api"])
    settings = settings_from(env)

    pg, pg_env = urlsplit(settings.postgres_url), environment(svc["postgres"])
    assert (unquote(pg.username or ""), unquote(pg.password or ""), pg.path.lstrip("/")) == (
        pg_env["POSTGRES_USER"],
        pg_env["POSTGRES_PASSWORD"],
        pg_env["POSTGRES_DB"],
    )

    mongo, mongo_env = urlsplit(settings.mongodb_uri), environment(svc["mongodb"])
    assert (unquote(mongo.username or ""), unquote(mongo.password or "")) == (
        mongo_env["MONGO_INITDB_ROOT_USERNAME"],
        mongo_env["MONGO_INITDB_ROOT_PASSWORD"],
    )

    neo4j_env = environment(svc["neo4j"])
    assert neo4j_env["NEO4J_AUTH"] == f"{settings.neo4j_user}/{settings.neo4j_password.get_secret_value()}"
    assert neo4j_env["NEO4J_initial_dbms_default__database"] == settings.neo4j_database

    redis = urlsplit(settings.redis_url)
    assert unquote(redis.password or "") == environment(svc["redis"])["REDIS_PASSWORD"]


def test_passwords_are_required_not_defaulted() -> None:
    text = PROD.read_text()
    for match in INTERPOLATION.finditer(text):
        if "PASSWORD" in match["name"]:
            assert match["op"] == ":?", f"{match[0]}: a password must be required (${{NAME:?message}})"


def test_only_api_and_monitoring_are_published() -> None:
    published = {name for name, service in services(PROD).items() if service.get("ports")}
    assert published == {"api", "prometheus", "grafana"}
    assert all(ip == "127.0.0.1" for ip, _, _ in ports(services(PROD)["prometheus"])), "Prometheus has no login"


# ---------------------------------------------------------------------------------------------------------------
# The development stack


def dev_exports() -> dict[str, str]:
    lines = [line for line in DEV.read_text().splitlines() if line.startswith("# export ")]
    assert len(lines) == 1, "docker-compose.dev.yml needs one `# export NAME=value ...` comment line"
    return dict(pair.split("=", 1) for pair in lines[0].removeprefix("# export ").split())


def test_dev_export_line_points_the_app_at_the_dev_stores() -> None:
    exports = dev_exports()
    assert set(exports) - known_env_names() == set(), "the export line names unknown settings"
    settings = settings_from(exports)
    svc = services(DEV)
    for store, (setting, port) in STORES.items():
        url = urlsplit(exports[setting])
        published = {(ip, host): container for ip, host, container in ports(svc[store])}
        assert published.get((url.hostname, url.port)) == port, f"{setting}: {store}'s {port} not published there"
    pg = urlsplit(settings.postgres_url)
    pg_env = environment(svc["postgres"])
    assert (pg.username, pg.password) == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"])
    neo4j_auth = f"{settings.neo4j_user}/{settings.neo4j_password.get_secret_value()}"
    assert environment(svc["neo4j"])["NEO4J_AUTH"] == neo4j_auth
    # .env.example's app section targets the same dev stack
    for name, value in exports.items():
        if name != "NEO4J_PASSWORD":  # one name for the container and the app: section 1 holds the prod one
            assert env_example().get(name) == value, f".env.example's {name} differs from the dev export line"


def test_dev_ports_are_loopback_only_and_admin_uis_present() -> None:
    svc = services(DEV)
    for name, service in svc.items():
        assert all(ip == "127.0.0.1" for ip, _, _ in ports(service)), f"{name} publishes beyond 127.0.0.1"
    host_ports = {host for service in svc.values() for _, host, _ in ports(service)}
    assert {8081, 5050, 7474} <= host_ports, "mongo-express 8081, pgAdmin 5050, Neo4j Browser 7474"
    assert {"mongo-express", "pgadmin"} <= set(svc)
    assert "redis-commander" in svc or "redisinsight" in svc
    assert len(host_ports) == sum(len(ports(s)) for s in svc.values()), "two services publish the same host port"


# ---------------------------------------------------------------------------------------------------------------
# .env.example


def test_env_example_has_no_duplicate_keys() -> None:
    keys = [
        line.split("=", 1)[0].strip()
        for line in ENV_EXAMPLE.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    ]
    assert len(keys) == len(set(keys))


def test_env_example_names_every_setting_and_nothing_stale() -> None:
    names = set(env_example())
    missing = {field for field, aliases in settings_env_names().items() if not aliases & names}
    assert missing == set(), "settings without a line in .env.example"
    used = {m["name"] for path in FILES for m in INTERPOLATION.finditer(path.read_text().replace("$$", ""))}
    stale = {n for n in names if n not in used and n not in known_env_names() and not is_future(n)}
    assert stale == set(), "read by neither a compose file nor the app"
    assert {"JWT_SECRET", "TELNYX_API_KEY", "TELNYX_PUBLIC_KEY", "TELNYX_APP_ID", "TELNYX_PHONE_NUMBER"} <= names
    assert any(n.startswith("RATE_LIMIT_") for n in names)


def test_env_example_values_are_valid_settings() -> None:
    settings_from(env_example())


# ---------------------------------------------------------------------------------------------------------------
# Dockerfile


def test_dockerfile_cmd_runs_the_console_script() -> None:
    cmds = [args for keyword, args in dockerfile() if keyword == "CMD"]
    assert cmds, "no CMD"
    argv = exec_form(cmds[-1])
    assert argv[0] in console_scripts(), f"{argv[0]!r} is not a [project.scripts] entry of pyproject.toml"
    assert console_scripts()[argv[0]] == "ops.cli:app"
    assert argv[1] in cli_commands()
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    port = argv[argv.index("--port") + 1]
    exposed = {p.split("/")[0] for keyword, args in dockerfile() if keyword == "EXPOSE" for p in args.split()}
    assert port in exposed
    # compose runs the same command, and every command it runs is one the CLI has
    api, migrate = services(PROD)["api"], services(PROD)["migrate"]
    assert api["command"] == argv
    assert {api["command"][1], migrate["command"][1]} <= cli_commands()


def test_dockerfile_healthcheck_probes_the_liveness_route() -> None:
    checks = [args for keyword, args in dockerfile() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    urls = re.findall(r"https?://[^'\"\s]+", checks[0])
    assert urls, "HEALTHCHECK names no URL"
    url = urlsplit(urls[0])
    assert url.path == "/health/live" and url.path in app_routes()
    argv = exec_form(next(args for keyword, args in reversed(dockerfile()) if keyword == "CMD"))
    assert str(url.port) == argv[argv.index("--port") + 1]
    assert "curl" not in checks[0] and "wget" not in checks[0], "python:3.13-slim has neither"


def test_dockerfile_is_multi_stage_and_runs_unprivileged() -> None:
    stages = [args for keyword, args in dockerfile() if keyword == "FROM"]
    assert len(stages) >= 2
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for k, v in dockerfile() if k == "ARG" for a in [v] if "=" in a}
    final_image = interpolate(stages[-1].split()[0], {k: v.strip('"') for k, v in args.items()})
    assert final_image.startswith("python:3.13") and "slim" in final_image
    assert any(k == "COPY" and v.startswith("--from=builder") and "/opt/venv" in v for k, v in dockerfile())
    users = [args for keyword, args in dockerfile() if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")


def test_dockerfile_copies_every_installed_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {args.split()[0] for keyword, args in dockerfile() if keyword == "COPY" and not args.startswith("--")}
    assert packages - copied == set(), "pip install . in the image would miss these packages"
    assert pyproject["project"]["readme"] in copied
    assert "pyproject.toml" in copied


def test_compose_builds_from_the_repository_root() -> None:
    build = raw(PROD)["services"]["api"]["build"]
    context = (PROD.parent / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE


# ---------------------------------------------------------------------------------------------------------------
# Prometheus


def scrape_targets() -> list[tuple[str, str, str]]:
    """(job, host, port) of every static target."""
    return [
        (job["job_name"], *target.rsplit(":", 1))
        for job in raw(PROMETHEUS)["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    ]


def test_scrape_targets_are_compose_services_and_ports() -> None:
    svc = services(PROD)
    for job, host, port in scrape_targets():
        assert host in svc, f"{job}: {host} is not a service of docker-compose.yml"
        assert int(port) in container_ports(svc[host]), f"{job}: {host} does not listen on {port}"
    api_jobs = [job for job in raw(PROMETHEUS)["scrape_configs"] if job["job_name"] == "switchboard-api"]
    assert len(api_jobs) == 1
    assert api_jobs[0].get("metrics_path", "/metrics") in app_routes()


def test_prometheus_service_mounts_its_config_and_rules() -> None:
    service = services(PROD)["prometheus"]
    mounts = {target: source for _, source, target in volumes(service)}
    config = next(arg.split("=", 1)[1] for arg in service["command"] if arg.startswith("--config.file="))
    assert (PROD.parent / mounts[config]).resolve() == PROMETHEUS
    for rule_file in raw(PROMETHEUS)["rule_files"]:
        assert (PROD.parent / mounts[rule_file]).resolve() == ALERTS


def test_alert_rules_are_well_formed() -> None:
    rules = alert_rules()
    assert rules
    names = [rule.get("alert") for rule in rules]
    assert all(names) and len(names) == len(set(names)), "every rule is a uniquely named alert"
    for rule in rules:
        assert str(rule.get("expr", "")).strip(), f"{rule['alert']}: no expr"
        assert DURATION.match(str(rule.get("for", ""))), f"{rule['alert']}: `for` is not a duration"
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{rule['alert']}: labels.severity"
        assert str(rule.get("annotations", {}).get("summary", "")).strip(), f"{rule['alert']}: annotations.summary"


def test_alerts_cover_down_errors_and_store_latency() -> None:
    exprs = " ".join(rule["expr"] for rule in alert_rules())
    assert 'up{job="switchboard-api"}' in exprs
    assert "switchboard_http_requests_total" in exprs and 'status=~"5.."' in exprs
    assert "switchboard_store_round_trip_seconds_bucket" in exprs and "by (store, le)" in exprs


def test_metric_names_in_alerts_and_dashboard_exist_in_the_app() -> None:
    exposed = set().union(*app_metrics().values())
    assert exposed, "no collectors found in ops/metrics.py"
    for source, exprs in (("alerts.yml", [r["expr"] for r in alert_rules()]), ("switchboard.json", dashboard_exprs())):
        for expr in exprs:
            unknown = metric_names(expr) - exposed - PROMETHEUS_BUILTINS - PROCESS_METRICS
            assert unknown == set(), f"{source}: {expr}"


def test_metric_name_extraction() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (store, le) (rate(switchboard_store_round_trip_seconds_bucket"
        '{instance=~"$instance"}[$__rate_interval]))) > 1e-3 and on (instance) up{job="x"} == 1'
    )
    assert metric_names(expr) == {"switchboard_store_round_trip_seconds_bucket", "up"}


def test_promtool_checks_and_unit_tests_the_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package `prometheus`)")

    def run(*args: str) -> None:
        done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr

    run("check", "rules", str(ALERTS))
    run("test", "rules", str(ALERT_TESTS))
    # the config, with rule_files pointed at the repository's copy
    config = raw(PROMETHEUS) | {"rule_files": [str(ALERTS)]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    run("check", "config", str(tmp_path / "prometheus.yml"))
    # the dashboard's queries, as recording rules with Grafana's variables filled in
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr.replace("$__rate_interval", "5m").replace("$instance", ".*")}
        for i, expr in enumerate(dashboard_exprs())
    ]
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run("check", "rules", str(tmp_path / "dashboard.yml"))


# ---------------------------------------------------------------------------------------------------------------
# Grafana


def test_dashboard_is_well_formed_and_uses_the_provisioned_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasource = raw(DATASOURCES)["datasources"][0]
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["datasource"]["uid"] == datasource["uid"]
    used = set().union(*(metric_names(e) for e in dashboard_exprs()))
    for metric, series in app_metrics().items():
        assert used & series, f"the dashboard does not show {metric}"


def test_grafana_provisioning_matches_the_compose_mounts() -> None:
    svc = services(PROD)
    grafana = svc["grafana"]
    mounts = {target: source for _, source, target in volumes(grafana)}
    datasource = raw(DATASOURCES)["datasources"][0]
    url = urlsplit(datasource["url"])
    assert url.hostname in svc and url.port in container_ports(svc[url.hostname])
    provisioning = (PROD.parent / mounts["/etc/grafana/provisioning"]).resolve()
    assert DATASOURCES.is_relative_to(provisioning) and DASHBOARD_PROVIDERS.is_relative_to(provisioning)
    for provider in raw(DASHBOARD_PROVIDERS)["providers"]:
        folder = (PROD.parent / mounts[provider["options"]["path"]]).resolve()
        assert DASHBOARD.parent == folder
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    folder_in_container, _, file_name = home.rpartition("/")
    assert (PROD.parent / mounts[folder_in_container] / file_name).resolve() == DASHBOARD
