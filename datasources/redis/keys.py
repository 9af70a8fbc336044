"""Every Redis key Switchboard writes, in one place, each prefixed by the tenant where it holds tenant data.

The live-call issue builds on these names: a call's state is a JSON value, each applied event is appended to the
call's stream and the account's stream (capped), and a notification on the account's channel wakes readers.
"""

PREFIX = "sb"


def call_state(account_id: int, call_id: str) -> str:
    return f"{PREFIX}:acct:{account_id}:call:{call_id}"


def call_stream(account_id: int, call_id: str) -> str:
    return f"{PREFIX}:acct:{account_id}:call:{call_id}:events"


def call_dtmf(account_id: int, call_id: str) -> str:
    """A call's DTMF log: a sorted set of its digits, one member per event, in (occurred_at, event id) order."""
    return f"{PREFIX}:acct:{account_id}:call:{call_id}:dtmf"


def call_transcript(account_id: int, call_id: str) -> str:
    """A call's transcription lines: a sorted set like the DTMF log, one member per line, capped to the newest."""
    return f"{PREFIX}:acct:{account_id}:call:{call_id}:transcript"


def lead_live_calls(account_id: int, lead_id: str) -> str:
    """The ids of a lead's live calls (a set): the lead -> live call index, kept with `active_calls`."""
    return f"{PREFIX}:acct:{account_id}:lead:{lead_id}:calls:live"


def closer_claim(account_id: int, user_id: int) -> str:
    """The call a closer on duty is promised to (its id), taken in that call's transaction: one call per closer."""
    return f"{PREFIX}:acct:{account_id}:closer:{user_id}"


def account_stream(account_id: int) -> str:
    return f"{PREFIX}:acct:{account_id}:events"


def active_calls(account_id: int) -> str:
    return f"{PREFIX}:acct:{account_id}:calls:active"


def notify_channel(account_id: int) -> str:
    return f"{PREFIX}:acct:{account_id}:notify"


def notify_pattern() -> str:
    return f"{PREFIX}:acct:*:notify"


def webhook_seen(event_id: str) -> str:
    return f"{PREFIX}:webhook:seen:{event_id}"


def rate_limit(principal: str, window: int) -> str:
    return f"{PREFIX}:ratelimit:{principal}:{window}"


def cost_bucket(subject: str) -> str:
    """A principal's cost budget (`user:12`, `apikey:3`): a hash of its level and when it was written."""
    return f"{PREFIX}:budget:{subject}"


def limits_prefix() -> str:
    """The `limits` library's keys: `sb:limits:LIMITER/<name>/<amount>/<multiples>/<unit>`."""
    return f"{PREFIX}:limits"


def sign_in_attempts(client: str) -> str:
    """The name of a client address' anonymous sign-in attempts under `limits_prefix()`."""
    return f"sign-in:{client}"


def webhook_requests(client: str) -> str:
    """The name of a sending address' webhook requests under `limits_prefix()`."""
    return f"webhook:{client}"


def login_failures(email_digest: str) -> str:
    return f"{PREFIX}:auth:login-failures:{email_digest}"


def session_epoch(user_id: int) -> str:
    return f"{PREFIX}:auth:user:{user_id}:epoch"


def family_revoked(family_id: str) -> str:
    return f"{PREFIX}:auth:family:{family_id}:revoked"


def archive_outbox() -> str:
    return f"{PREFIX}:outbox:archive"


def archive_dead_letter() -> str:
    """Archive jobs that failed `ARCHIVE_MAX_ATTEMPTS` times, with their last error, until `outbox retry`."""
    return f"{PREFIX}:outbox:archive:dead"


def command_outbox() -> str:
    """The agent's carrier commands and lead facts, appended by the webhook's transaction until delivered."""
    return f"{PREFIX}:outbox:commands"


def command_dead_letter() -> str:
    """Commands and facts that failed `COMMAND_MAX_ATTEMPTS` times, with their last error, until `outbox retry`."""
    return f"{PREFIX}:outbox:commands:dead"


def persisted_query(sha256: str) -> str:
    """An automatic persisted query's text by its hash; shared by every tenant, as the text names no tenant."""
    return f"{PREFIX}:apq:{sha256}"


def seed_marker() -> str:
    return f"{PREFIX}:seeded"


def control_id(call_control_id: str) -> str:
    return f"{PREFIX}:ccid:{call_control_id}"


def simulated_commands(call_control_id: str) -> str:
    """The simulated carrier's count of the commands it received for a call, by `kind:command_id`."""
    return f"{PREFIX}:sim:commands:{call_control_id}"


def unmatched_events() -> str:
    return f"{PREFIX}:webhook:unmatched"


def account_of_channel(channel: str) -> int | None:
    """The account a notify channel belongs to (`sb:acct:42:notify` -> 42)."""
    parts = channel.split(":")
    if len(parts) == 4 and parts[0] == PREFIX and parts[1] == "acct" and parts[3] == "notify" and parts[2].isdigit():
        return int(parts[2])
    return None


def optimization_job(account_id: int, job_id: str) -> str:
    """A route-optimisation job's state: a hash, expiring `JOB_TTL` after its last change."""
    return f"{PREFIX}:acct:{account_id}:job:{job_id}"


def optimization_stream(account_id: int, job_id: str) -> str:
    return f"{PREFIX}:acct:{account_id}:job:{job_id}:events"


def route_stream(account_id: int, route_id: int) -> str:
    """A route's live events (positions, stop changes, ETAs), capped."""
    return f"{PREFIX}:acct:{account_id}:route:{route_id}:events"


def fleet_positions(account_id: int) -> str:
    """A GEO set of the account's vehicles' last positions (member `vehicle:<id>` or `route:<id>`)."""
    return f"{PREFIX}:acct:{account_id}:fleet:positions"


def fleet_seen(account_id: int) -> str:
    """A hash: position member -> JSON of its route, time and coordinates."""
    return f"{PREFIX}:acct:{account_id}:fleet:seen"
