"""Pure generation of the demo data set: plain values from a seeded random generator, no I/O."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from datasources.mongo.leads import NewLead
from datasources.postgres.vehicles import VehiclePlanning

FIRST = ["Ava", "Liam", "Noah", "Emma", "Mia", "Lucas", "Zoe", "Omar", "Priya", "Chen", "Sofia", "Mateo", "Aisha",
         "Kenji", "Nora", "Ivan", "Lena", "Diego", "Maya", "Tariq", "Elif", "Jonas", "Grace", "Ravi", "Hana", "Felix"]
LAST = ["Garcia", "Smith", "Nguyen", "Patel", "Kim", "Okafor", "Rossi", "Müller", "Silva", "Cohen", "Haddad", "Berg",
        "Novak", "Tanaka", "Dubois", "Larsen", "Costa", "Reyes", "Ahmed", "Walsh", "Kowalski", "Ibrahim", "Young"]
INDUSTRIES = {
    "cold chain": ["refrigerated trucks", "temperature monitoring for frozen food", "pharma cold storage"],
    "last-mile delivery": ["same-day parcel delivery", "courier vans in dense cities", "e-commerce returns"],
    "construction": ["heavy equipment transport", "building material supply runs", "site logistics"],
    "healthcare": ["medical sample courier", "home care nurse visits", "hospital supply routes"],
    "retail": ["store replenishment", "grocery home delivery", "furniture delivery and assembly"],
    "field services": ["HVAC technician dispatch", "solar panel installation crews", "elevator maintenance"],
}
COMPANY_WORDS = ["North", "Blue", "Swift", "Harbor", "Summit", "Cedar", "Metro", "Atlas", "Pioneer", "Vertex"]
COMPANY_KINDS = ["Logistics", "Freight", "Foods", "Health", "Builders", "Services", "Retail", "Couriers"]
TITLES = ["Fleet Manager", "Operations Director", "COO", "Logistics Coordinator", "Head of Dispatch", "CEO"]
# Spread round the clock, so at any hour some demo leads are inside their 8:00-21:00 calling hours.
TIMEZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London",
             "Europe/Berlin", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"]
STATUSES = ["new"] * 4 + ["contacted"] * 3 + ["qualified"] * 2 + ["nurturing", "converted", "lost", "unqualified"]
SOURCES = ["web", "referral", "cold_call", "event", "partner", "inbound_call"]
NOTE_TEMPLATES = [
    "Asked about {topic}; runs {n} vehicles today.",
    "Pain point: {topic}. Wants a demo next week.",
    "Current vendor contract ends in Q{q}. Interested in {topic}.",
    "Budget approved for {topic}, decision by the ops team.",
]
TIMELINES = ["now", "this quarter", "next year"]
AREA_CODES = ["212", "312", "415", "503", "617", "702", "206", "305"]
CENTER = (40.7128, -74.0060)


@dataclass
class DemoUser:
    email: str
    full_name: str
    role: str
    closer_phone: str | None = None  # on duty as a closer, the voice agent's transfers ring this number


@dataclass
class DemoStop:
    lead_index: int
    address: str
    latitude: float
    longitude: float
    window_start: datetime
    window_end: datetime
    demand: int = 0
    service_min: float = 0.0


@dataclass
class DemoRoute:
    number: str
    name: str
    on: date
    driver_index: int | None
    vehicle_index: int | None
    stops: list[DemoStop] = field(default_factory=list)


@dataclass
class DemoAccount:
    name: str
    slug: str
    users: list[DemoUser]
    vehicles: list[tuple[str, str, str, float]]
    leads: list[NewLead]
    owner_indexes: list[int | None]
    referrals: list[tuple[int, int]]
    routes: list[DemoRoute]
    # per vehicle, what the route planner needs: capacity in demand units, shift (UTC), depot
    vehicle_planning: list[VehiclePlanning] = field(default_factory=list)


def _phone(rng: random.Random, used: set[str]) -> str:
    while True:
        number = f"+1{rng.choice(AREA_CODES)}555{rng.randint(1000, 9999)}"
        if number not in used:
            used.add(number)
            return number


def _leads(rng: random.Random, count: int, agents: list[int]) -> tuple[list[NewLead], list[int | None]]:
    companies = []
    for i in range(max(1, count // 6)):
        industry = rng.choice(list(INDUSTRIES))
        companies.append((f"{COMPANY_WORDS[i % 10]} {rng.choice(COMPANY_KINDS)} {i // 10 or ''}".strip(), industry))
    leads, owners = [], []
    used: set[str] = set()
    # distinct names while there are enough pairs (598), so two demo leads are never mistaken for one
    pairs = [(first, last) for first in FIRST for last in LAST]
    names = rng.sample(pairs, min(count, len(pairs))) + [rng.choice(pairs) for _ in range(count - len(pairs))]
    for first, last in names:
        company, industry = rng.choice(companies)
        topics = INDUSTRIES[industry]
        notes = [
            rng.choice(NOTE_TEMPLATES).format(topic=rng.choice(topics), n=rng.randint(3, 400), q=rng.randint(1, 4))
            for _ in range(rng.randint(1, 3))
        ]
        consent = rng.random() < 0.85
        leads.append(
            NewLead(
                first_name=first,
                last_name=last,
                phone=_phone(rng, used),
                email=f"{first}.{last}@{company.split()[0].lower()}.example".lower().replace("ü", "u"),
                company={"name": company, "title": rng.choice(TITLES), "industry": industry,
                         "size": rng.choice(["1-10", "11-50", "51-200", "201-1000"])},
                source=rng.choice(SOURCES),
                status=rng.choice(STATUSES),
                priority=rng.choice(["low", "medium", "medium", "high", "urgent"]),
                score=rng.randint(0, 100),
                tags=rng.sample(["fleet", "enterprise", "smb", "urgent", "renewal", "pilot", "ev"], rng.randint(0, 3)),
                consent={"call": consent, "sms": consent and rng.random() < 0.5, "email": True},
                do_not_call=not consent and rng.random() < 0.5,
                timezone=rng.choice(TIMEZONES),
                qualification={"need": rng.choice(topics), "timeline": rng.choice(TIMELINES)},
                notes=notes,
            )
        )
        owners.append(rng.choice(agents) if rng.random() < 0.8 else None)
    return leads, owners


def _referrals(rng: random.Random, count: int) -> list[tuple[int, int]]:
    """A forest: each referred lead has exactly one referrer, always an earlier lead, so there are no cycles."""
    pairs = []
    for target in range(1, count):
        if rng.random() < 0.4:
            pairs.append((rng.randrange(0, target), target))
    return pairs


def _routes(rng: random.Random, lead_count: int, drivers: list[int], vehicles: int, routes: int) -> list[DemoRoute]:
    today = datetime.now(UTC).date()
    loads = random.Random(rng.random())  # demands and service times, without disturbing the other draws
    out = []
    for i in range(routes):
        on = today + timedelta(days=i // 4)
        assigned = i % 5 != 4  # every fifth route waits for a driver and a vehicle (assignRoute)
        route = DemoRoute(f"R-{1001 + i}", f"Route {1001 + i}", on, drivers[i % len(drivers)] if assigned else None,
                          i % vehicles if assigned else None)
        start = datetime(on.year, on.month, on.day, 8, tzinfo=UTC)
        for s in range(rng.randint(4, 8)):
            lat = CENTER[0] + rng.uniform(-0.15, 0.15)
            lng = CENTER[1] + rng.uniform(-0.2, 0.2)
            window = start + timedelta(minutes=45 * s)
            route.stops.append(
                DemoStop(rng.randrange(lead_count), f"{rng.randint(1, 999)} {rng.choice(LAST)} St, New York, NY",
                         round(lat, 6), round(lng, 6), window, window + timedelta(hours=1),
                         demand=loads.randint(1, 10), service_min=float(loads.choice([5, 10, 15])))
            )
        out.append(route)
    return out


def demo_account(name: str, slug: str, *, leads: int, routes: int, seed: int) -> DemoAccount:
    rng = random.Random(seed)
    # one user of every role at least, so each can be tried
    staff = [("owner", "owner"), ("admin", "admin"), ("manager", "manager"), ("dispatch", "dispatcher")]
    staff += [(f"agent{i}", "agent") for i in range(3)] + [(f"driver{i}", "driver") for i in range(5)]
    staff += [("viewer", "viewer")]
    users = [
        DemoUser(f"{login}@{slug}.example", f"{rng.choice(FIRST)} {rng.choice(LAST)}", role) for login, role in staff
    ]
    # the manager is the account's closer on duty, so a hot lead on a demo call is transferred to someone
    manager = next(u for u in users if u.role == "manager")
    manager.closer_phone = f"+1415555{seed % 1000:03d}9"
    agents = [i for i, u in enumerate(users) if u.role == "agent"]
    drivers = [i for i, u in enumerate(users) if u.role == "driver"]
    vehicles = [(f"{slug[:3].upper()}-{100 + i}", f"Van {i + 1}", "van" if i % 3 else "truck", 1200.0 + 300 * i)
                for i in range(6)]
    # the routes of a day carry at most 8 stops of at most 10 units: any two vans take a day's stops
    planning = [VehiclePlanning(capacity=40 + 10 * i, shift_start=time(7), shift_end=time(19),
                                depot_latitude=CENTER[0], depot_longitude=CENTER[1]) for i in range(len(vehicles))]
    lead_list, owners = _leads(rng, leads, agents)
    return DemoAccount(
        name, slug, users, vehicles, lead_list, owners, _referrals(rng, leads),
        _routes(rng, leads, drivers, len(vehicles), routes) if leads else [], planning,
    )
