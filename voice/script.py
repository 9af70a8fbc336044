"""An account's call script: what the voice agent says and asks, and how it scores and follows up. Pure data.

The script is stored per account as JSON (`to_dict` / `from_dict`); `validate` names every field it refuses, so
the `updateCallScript` mutation can answer with field errors. `DEFAULT_SCRIPT` is what an account starts with.

The four BANT questions are asked two ways: by the AI gather, for which `ai_parameters` builds a JSON Schema of
the normalized answers (see voice/scoring.py) plus an `opt_out` intent, and, when the AI gather fails, one at a
time as a DTMF menu (`menu`, `options`: digit -> normalized answer; `opt_out_digit` on every menu opts out).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from voice.scoring import CRITERIA, SHARES, Weights

# follow-up reasons with a delay; a hot lead without a free closer is called back after `hot`
FOLLOW_UPS: tuple[str, ...] = ("hot", "warm", "cold", "voicemail", "no_answer")
DIGITS = frozenset("0123456789*#")


@dataclass(frozen=True)
class Question:
    criterion: str  # budget | authority | need | timeline
    text: str  # what the AI assistant is told to find out (the schema property's description)
    menu: str  # the DTMF prompt, spoken by gather_using_speak
    options: dict[str, str]  # digit -> normalized answer


@dataclass(frozen=True)
class CallScript:
    greeting: str
    disclosure: str  # spoken right after the greeting when `record` is on
    record: bool
    questions: tuple[Question, ...]
    opt_out_digit: str
    opt_out_prompt: str  # appended to every DTMF menu
    invalid_prompt: str  # spoken when a digit is not on the menu
    voicemail: str
    closings: dict[str, str]  # "warm", "cold", "opt_out" -> the last words before hanging up
    handover: str  # said to a hot lead before the transfer to a closer
    callback_promise: str  # said to a hot lead when no closer is free
    follow_up_hours: dict[str, int]  # FOLLOW_UPS -> hours after the call
    weights: Weights = field(default_factory=Weights)
    voice: str = "female"
    language: str = "en-US"
    ai_timeout_ms: int = 10_000

    def question(self, criterion: str) -> Question:
        return next(q for q in self.questions if q.criterion == criterion)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["questions"] = [asdict(q) for q in self.questions]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallScript:
        """A stored script; a field it lacks (a script saved before the field existed) takes the default's."""
        base = DEFAULT_SCRIPT.to_dict()
        known = {f.name for f in fields(cls)}
        merged = base | {k: v for k, v in data.items() if k in known}
        return cls(
            **{
                **merged,
                "questions": tuple(Question(**q) for q in merged["questions"]),
                "weights": Weights(**(base["weights"] | dict(merged["weights"]))),
                "closings": dict(merged["closings"]),
                "follow_up_hours": dict(merged["follow_up_hours"]),
            }
        )


def script_from(base: dict[str, Any], changes: dict[str, Any]) -> CallScript | list[tuple[str, str]]:
    """`base` (a stored script) with `changes` (its fields) over it, or why a field cannot be read, as
    (field, message): an unknown field, or a value of the wrong shape (e.g. a question without its menu)."""
    known = {f.name for f in fields(CallScript)}
    problems = [(name, "is not a field of the call script") for name in changes if name not in known]
    if problems:
        return problems
    # a field that is a mapping (weights, closings, follow_up_hours) changes only the keys given
    changes = {name: base[name] | value if isinstance(value, dict) and isinstance(base.get(name), dict) else value
               for name, value in changes.items()}
    for name, value in changes.items():
        try:
            CallScript.from_dict(base | {name: value})
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            problems.append((name, f"cannot be read: {exc}"))
    if problems:
        return problems
    script = CallScript.from_dict(base | changes)
    wrong = [f.name for f in fields(CallScript) if f.name in changes and not _shaped(getattr(script, f.name), f.type)]
    return [(name, "has the wrong type") for name in wrong] or script


def _shaped(value: Any, hint: Any) -> bool:
    simple = {"str": str, "bool": bool, "int": int}
    expected = simple.get(hint if isinstance(hint, str) else getattr(hint, "__name__", ""))
    if expected is None:
        return True
    if expected is int and isinstance(value, bool):
        return False
    return isinstance(value, expected)


def menu_text(script: CallScript, question: Question) -> str:
    return f"{question.menu} {script.opt_out_prompt}"


def ai_parameters(script: CallScript) -> dict[str, Any]:
    """The `parameters` of gather_using_ai: a JSON Schema of the four answers, their confidence, and opt-out."""
    w = script.weights
    properties: dict[str, Any] = {}
    for question in script.questions:
        properties[question.criterion] = {
            "type": "string",
            "enum": list(SHARES[question.criterion]),
            "description": question.text,
        }
    properties["budget_amount"] = {
        "type": "number",
        "description": f"The budget in US dollars if a figure was given (low: under {w.budget_medium}, "
        f"medium: under {w.budget_high}, high: {w.budget_high} or more).",
    }
    properties["opt_out"] = {
        "type": "boolean",
        "description": "true as soon as the person asks not to be called again; then stop asking questions.",
    }
    properties["confidence"] = {
        "type": "object",
        "description": "How sure you are of each answer, from 0 (a guess) to 1 (said plainly).",
        "properties": {c: {"type": "number", "minimum": 0, "maximum": 1} for c in CRITERIA},
    }
    return {"type": "object", "properties": properties, "required": [*CRITERIA, "opt_out"]}


def validate(script: CallScript) -> list[str]:
    """Every problem, as "field: what is wrong"; an empty list is a valid script."""
    errors: list[str] = []
    for name in ("greeting", "voicemail", "handover", "callback_promise", "opt_out_prompt", "invalid_prompt"):
        if not str(getattr(script, name)).strip():
            errors.append(f"{name}: must not be empty")
    if script.record and not script.disclosure.strip():
        errors.append("disclosure: must not be empty when record is on")
    for name in ("warm", "cold", "opt_out"):
        if not script.closings.get(name, "").strip():
            errors.append(f"closings.{name}: must not be empty")
    if script.opt_out_digit not in DIGITS or len(script.opt_out_digit) != 1:
        errors.append("opt_out_digit: must be one of 0-9, * or #")
    criteria = [q.criterion for q in script.questions]
    if sorted(criteria) != sorted(CRITERIA):
        errors.append(f"questions: must ask each of {', '.join(CRITERIA)} once")
    for i, q in enumerate(script.questions):
        where = f"questions[{i}]"
        if not q.text.strip():
            errors.append(f"{where}.text: must not be empty")
        if not q.menu.strip():
            errors.append(f"{where}.menu: must not be empty")
        if not q.options:
            errors.append(f"{where}.options: must offer at least one digit")
        for digit, value in q.options.items():
            if len(digit) != 1 or digit not in DIGITS or digit == script.opt_out_digit:
                errors.append(f"{where}.options: {digit!r} is not a free menu digit")
            if value not in SHARES.get(q.criterion, {}):
                errors.append(f"{where}.options: {value!r} is not an answer to {q.criterion}")
    for reason in FOLLOW_UPS:
        hours = script.follow_up_hours.get(reason)
        if not isinstance(hours, int) or isinstance(hours, bool) or hours < 0:
            errors.append(f"follow_up_hours.{reason}: must be a whole number of hours, 0 or more")
    w = script.weights
    for criterion in CRITERIA:
        if w.of(criterion) < 0:
            errors.append(f"weights.{criterion}: must not be negative")
    if sum(w.of(c) for c in CRITERIA) != 100:
        errors.append("weights: budget, authority, need and timeline must sum to 100")
    if not 0 < w.budget_medium < w.budget_high:
        errors.append("weights.budget_medium: must be above 0 and below weights.budget_high")
    if not 1_000 <= script.ai_timeout_ms <= 60_000:
        errors.append("ai_timeout_ms: must be between 1000 and 60000")
    return errors


DEFAULT_SCRIPT = CallScript(
    greeting="Hi, this is the virtual assistant from Switchboard, calling about the enquiry you made with us.",
    disclosure="This call is recorded and transcribed for quality and training.",
    record=True,
    questions=(
        Question(
            "budget",
            "Whether they have a budget for this, and roughly how much.",
            "Do you have a budget for this? Press 1 for 25,000 dollars or more, 2 for 5,000 to 25,000, "
            "3 for less than 5,000, or 4 if there is no budget yet.",
            {"1": "high", "2": "medium", "3": "low", "4": "none"},
        ),
        Question(
            "authority",
            "Whether they make the buying decision themselves (decision_maker), influence it (influencer), or "
            "neither (none).",
            "Who makes the decision? Press 1 if it is you, 2 if you help decide, or 3 if someone else decides.",
            {"1": "decision_maker", "2": "influencer", "3": "none"},
        ),
        Question(
            "need",
            "How much they need a solution: strong (a priority), some (nice to have) or none.",
            "How much do you need this? Press 1 if it is a priority, 2 if it would be nice to have, "
            "or 3 if you do not need it.",
            {"1": "strong", "2": "some", "3": "none"},
        ),
        Question(
            "timeline",
            "When they plan to buy: this_month, this_quarter, this_year, or none (no plan).",
            "When do you plan to decide? Press 1 for this month, 2 for this quarter, 3 for this year, "
            "or 4 if there is no plan yet.",
            {"1": "this_month", "2": "this_quarter", "3": "this_year", "4": "none"},
        ),
    ),
    opt_out_digit="9",
    opt_out_prompt="Press 9 if you would rather we did not call again.",
    invalid_prompt="Sorry, that is not one of the options.",
    voicemail="Hi, this is Switchboard returning your enquiry. We will try you again soon; have a great day.",
    closings={
        "warm": "Thank you, that is really helpful. A colleague will follow up with you in a couple of days.",
        "cold": "Thank you for your time. We will keep you posted by email. Goodbye.",
        "opt_out": "Understood, we will not call you again. Sorry for the trouble, and goodbye.",
    },
    handover="Thank you! I am connecting you now with one of our specialists; please hold.",
    callback_promise="Thank you! All our specialists are busy right now; one of them will call you back today.",
    follow_up_hours={"hot": 2, "warm": 48, "cold": 720, "voicemail": 24, "no_answer": 4},
)
