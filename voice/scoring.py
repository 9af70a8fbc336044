"""Lead scoring: qualification answers and their confidence -> a score from 0 to 100 and a class, pure.

Each BANT criterion has a weight (its maximum points; the four weights sum to 100) and each normalized answer
earns a share of it. The points are scaled by the answer's confidence (0..1), so a hesitant "yes" counts for
less than a firm one, and an answer not heard (`unknown`) counts for nothing.

    points(criterion) = weight(criterion) * share(answer.value) * clamp(answer.confidence, 0, 1)
    score = round(sum of points), 0..100

| class | score    |
|-------|----------|
| hot   | >= 70    |
| warm  | 40 .. 69 |
| cold  | < 40     |

Default weights (per account, in the call script) and the share of each answer:

| criterion | weight | answers and share                                                                  |
|-----------|--------|------------------------------------------------------------------------------------|
| budget    | 25     | high (>= $25,000) 1.0, medium ($5,000 - $24,999) 0.6, low (< $5,000) 0.25, none 0  |
| authority | 25     | decision_maker 1.0, influencer 0.5, none 0                                         |
| need      | 30     | strong 1.0, some 0.5, none 0                                                       |
| timeline  | 20     | this_month 1.0, this_quarter 0.7, this_year 0.35, none 0                           |

Any criterion may also be `unknown` (not heard, or an answer we could not read): share 0. The budget bands'
limits ($5,000 and $25,000) are weights too: an amount heard by the AI gather is put in its band with them.

Normalizers read the two ways an answer arrives: the AI gather's `result` object (`from_ai`, shaped by the JSON
Schema of `voice.script.ai_parameters`) and a DTMF digit of the fallback menu (`from_dtmf`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CRITERIA: tuple[str, ...] = ("budget", "authority", "need", "timeline")
UNKNOWN = "unknown"

SHARES: dict[str, dict[str, float]] = {
    "budget": {"high": 1.0, "medium": 0.6, "low": 0.25, "none": 0.0},
    "authority": {"decision_maker": 1.0, "influencer": 0.5, "none": 0.0},
    "need": {"strong": 1.0, "some": 0.5, "none": 0.0},
    "timeline": {"this_month": 1.0, "this_quarter": 0.7, "this_year": 0.35, "none": 0.0},
}

HOT, WARM = 70, 40
# an AI answer that comes without its confidence is taken as heard clearly: the schema asks for one, the
# assistant does not always give it
DEFAULT_AI_CONFIDENCE = 1.0


@dataclass(frozen=True)
class Weights:
    """Maximum points per criterion (they sum to 100) and the budget bands' lower limits, in dollars."""

    budget: int = 25
    authority: int = 25
    need: int = 30
    timeline: int = 20
    budget_medium: int = 5_000
    budget_high: int = 25_000

    def of(self, criterion: str) -> int:
        return int(getattr(self, criterion))


@dataclass(frozen=True)
class Answer:
    value: str = UNKNOWN
    confidence: float = 0.0


@dataclass(frozen=True)
class Qualification:
    score: int
    cls: str  # "hot" | "warm" | "cold"
    points: dict[str, float] = field(default_factory=dict)


def classify(score: int) -> str:
    if score >= HOT:
        return "hot"
    return "warm" if score >= WARM else "cold"


def score(answers: Mapping[str, Answer], weights: Weights) -> Qualification:
    points: dict[str, float] = {}
    for criterion in CRITERIA:
        answer = answers.get(criterion, Answer())
        share = SHARES[criterion].get(answer.value, 0.0)
        confidence = min(1.0, max(0.0, answer.confidence))
        points[criterion] = weights.of(criterion) * share * confidence
    total = max(0, min(100, round(sum(points.values()))))
    return Qualification(score=total, cls=classify(total), points={k: round(v, 2) for k, v in points.items()})


def budget_band(amount: float, weights: Weights) -> str:
    if amount <= 0:
        return "none"
    if amount < weights.budget_medium:
        return "low"
    return "medium" if amount < weights.budget_high else "high"


def _word(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def _number(value: Any) -> float | None:
    # bool is an int: `true` is not an amount
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value else None  # NaN is no amount either


def _confidence(result: Mapping[str, Any], criterion: str) -> float:
    given = result.get("confidence")
    value = _number(given.get(criterion)) if isinstance(given, Mapping) else None
    return DEFAULT_AI_CONFIDENCE if value is None else min(1.0, max(0.0, value))


def from_ai(result: Mapping[str, Any], weights: Weights) -> dict[str, Answer]:
    """The answers in an AI gather `result` (or `partial_results`); a criterion it lacks is not in the dict."""
    answers: dict[str, Answer] = {}
    for criterion in CRITERIA:
        value = _word(result.get(criterion))
        if criterion == "budget" and (amount := _number(result.get("budget_amount"))) is not None:
            value = budget_band(amount, weights)
        elif criterion == "budget" and (amount := _number(result.get("budget"))) is not None:
            value = budget_band(amount, weights)
        if value is None:
            continue
        if value in SHARES[criterion]:
            answers[criterion] = Answer(value, _confidence(result, criterion))
        else:
            answers[criterion] = Answer(UNKNOWN, 0.0)
    return answers


def opted_out(result: Mapping[str, Any]) -> bool:
    """The AI gather's `opt_out` intent; only a JSON `true` counts (a string "false" must not opt anyone out)."""
    return result.get("opt_out") is True


def from_dtmf(options: Mapping[str, str], digits: str | None) -> Answer:
    """A menu digit -> its answer, heard for sure; a digit not on the menu (or none) is `unknown`."""
    if digits is None:
        return Answer()
    value = options.get(digits.strip().rstrip("#"))
    return Answer(value, 1.0) if value is not None else Answer()
