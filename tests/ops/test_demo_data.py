from datetime import UTC, datetime, timedelta

from ops.demo_data import demo_account
from voice.policy import refusal


def test_some_demo_leads_are_callable_at_any_hour() -> None:
    leads = demo_account("Acme", "acme", leads=300, routes=0, seed=7).leads
    midnight = datetime(2026, 11, 22, tzinfo=UTC)
    for hour in range(24):
        now = midnight + timedelta(hours=hour)
        callable_now = [
            lead for lead in leads
            if refusal(consent_to_call=bool(lead.consent.get("call")), do_not_call=lead.do_not_call,
                       timezone=lead.timezone, now=now) is None
        ]
        assert len(callable_now) >= 10, hour


def test_demo_data_is_deterministic() -> None:
    assert demo_account("A", "a", leads=20, routes=2, seed=1) == demo_account("A", "a", leads=20, routes=2, seed=1)


def test_demo_lead_names_are_distinct_and_most_routes_have_a_driver() -> None:
    account = demo_account("Acme", "acme", leads=300, routes=15, seed=7)
    names = [(lead.first_name, lead.last_name) for lead in account.leads]
    assert len(set(names)) == len(names)
    assigned = [route.driver_index is not None for route in account.routes]
    assert assigned[0], "the first route, the one a newcomer's query shows, has a driver"
    assert assigned.count(False) == 3
    # beyond the distinct pairs, names repeat rather than fail
    assert len(demo_account("B", "b", leads=700, routes=0, seed=1).leads) == 700
