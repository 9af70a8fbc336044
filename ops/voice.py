"""Wires live calls: the webhook key, the carrier, the call service, the event broker and the outbox workers (the
archive's and the agent commands')."""

from __future__ import annotations

import asyncio
import os
import socket
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from datasources.calls import store
from datasources.calls.broker import StreamBroker
from datasources.redis import open_redis
from datasources.stores import Stores
from ops.secrets import client_state_key
from ops.settings import Settings
from voice.carriers.base import Carrier
from voice.command_outbox import CommandWorker
from voice.outbox import ArchiveWorker
from voice.service import CallService
from voice.signature import generate_key_pair, load_private_key, load_public_key, public_key_of

DEV_KEY_FILE = "telnyx-dev-key.txt"


@dataclass(frozen=True)
class Voice:
    service: CallService
    broker: StreamBroker
    public_key: str


def dev_private_key_path(settings: Settings) -> Path:
    return settings.data_dir / DEV_KEY_FILE


def dev_private_key(settings: Settings) -> str:
    """The development signing key, made once in the data folder; the simulator and `simulate` sign with it."""
    path = dev_private_key_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        private, _ = generate_key_pair()
        path.write_text(private)
        path.chmod(0o600)
    return path.read_text()


def webhook_public_key(settings: Settings) -> str:
    if settings.telnyx_public_key:
        load_public_key(settings.telnyx_public_key)  # a malformed key stops the start, naming the variable
        return settings.telnyx_public_key
    if settings.profile.secrets_required:
        raise ValueError(f"TELNYX_PUBLIC_KEY must be set in {settings.environment.value}: webhooks cannot be "
                         "verified without it")
    return public_key_of(load_private_key(dev_private_key(settings)))


def build_carrier(settings: Settings) -> Carrier:
    kind = settings.carrier
    if kind == "auto":
        kind = "telnyx" if settings.telnyx_api_key.get_secret_value() else "simulated"
    if kind == "telnyx":
        from voice.carriers.telnyx import TelnyxCarrier

        if not settings.telnyx_api_key.get_secret_value() or not settings.telnyx_app_id:
            raise ValueError("CARRIER=telnyx needs TELNYX_API_KEY and TELNYX_APP_ID")
        return TelnyxCarrier(
            api_key=settings.telnyx_api_key.get_secret_value(),
            connection_id=settings.telnyx_app_id,
            base_url=settings.telnyx_base_url or None,
        )
    if settings.profile.real_carrier:
        raise ValueError("the simulated carrier is for development: set TELNYX_API_KEY and TELNYX_APP_ID in production")
    from voice.simulator import SimulatedCarrier

    return SimulatedCarrier(
        target=settings.simulator_target.rstrip("/"),
        private_key=load_private_key(dev_private_key(settings)),
        pace=settings.simulator_pace,
    )


async def open_voice(settings: Settings, stores: Stores, redis_url: str, exits: AsyncExitStack) -> Voice:
    public_key = webhook_public_key(settings)
    carrier = build_carrier(settings)
    exits.push_async_callback(carrier.close)
    from voice.simulator import SimulatedCarrier

    if isinstance(carrier, SimulatedCarrier):
        redis = stores.redis

        async def count(call_control_id: str, command_id: str, kind: str) -> None:
            await store.count_command(redis, call_control_id=call_control_id, command_id=command_id, kind=kind)

        carrier.on_command = count
    # the broker's pattern subscription holds a connection of its own
    broker = StreamBroker(open_redis(redis_url), max_queue=settings.subscriber_queue)
    exits.push_async_callback(broker.redis.aclose)
    await broker.start()
    exits.push_async_callback(broker.close)
    wakeup = asyncio.Event()
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    worker = ArchiveWorker(
        stores, consumer=consumer, wakeup=wakeup, retry_after=settings.archive_retry_after,
        retention=settings.call_retention.total_seconds(), max_attempts=settings.archive_max_attempts,
    )
    await worker.start()
    exits.push_async_callback(worker.close)
    service = CallService(stores, carrier, from_number=settings.telnyx_phone_number,
                          client_state_key=client_state_key(settings), archive_wakeup=wakeup,
                          closer_claim_ttl=max(int(settings.closer_claim_ttl.total_seconds()), 1))
    commands = CommandWorker(service.courier, consumer=consumer, retry_after=settings.command_retry_after,
                             max_attempts=settings.command_max_attempts)
    await commands.start()
    exits.push_async_callback(commands.close)
    return Voice(service, broker, public_key)
