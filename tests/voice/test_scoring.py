"""Lead scoring: the class boundaries, confidence scaling, the normalizers, and per-account weights and scripts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voice.scoring import CRITERIA, SHARES, Answer, Weights, budget_band, classify, from_ai, from_dtmf, opted_out, score
from voice.script import DEFAULT_SCRIPT, CallScript, Question, ai_parameters, validate

PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)
W = Weights()


def sure(**values: str) -> dict[str, Answer]:
    return {criterion: Answer(value, 1.0) for criterion, value in values.items()}


@pytest.mark.parametrize(
    ("total", "cls"), [(0, "cold"), (39, "cold"), (40, "warm"), (69, "warm"), (70, "hot"), (100, "hot")]
)
def test_class_boundaries(total: int, cls: str) -> None:
    assert classify(total) == cls


@pytest.mark.parametrize(("points", "cls"), [(39, "cold"), (40, "warm"), (69, "warm"), (70, "hot")])
def test_boundaries_through_score_with_custom_weights(points: int, cls: str) -> None:
    # the whole score from need: a strong need earns exactly `need` points
    weights = Weights(budget=0, authority=0, need=points, timeline=100 - points)
    result = score(sure(need="strong", timeline="none"), weights)
    assert (result.score, result.cls) == (points, cls)


def test_the_best_and_the_worst_answers() -> None:
    best = score(sure(budget="high", authority="decision_maker", need="strong", timeline="this_month"), W)
    assert (best.score, best.cls) == (100, "hot")
    worst = score(sure(budget="none", authority="none", need="none", timeline="none"), W)
    assert (worst.score, worst.cls) == (0, "cold")
    assert score({}, W).score == 0


def test_default_points_per_answer() -> None:
    result = score(sure(budget="medium", authority="influencer", need="some", timeline="this_quarter"), W)
    assert result.points == {"budget": 15.0, "authority": 12.5, "need": 15.0, "timeline": 14.0}
    assert (result.score, result.cls) == (56, "warm")


def test_confidence_scales_the_points_down() -> None:
    firm = score(sure(budget="high", authority="decision_maker", need="strong", timeline="this_month"), W)
    hesitant = score({c: Answer(a.value, 0.5) for c, a in sure(
        budget="high", authority="decision_maker", need="strong", timeline="this_month").items()}, W)  # fmt: skip
    assert (firm.score, hesitant.score, hesitant.cls) == (100, 50, "warm")
    assert score({"need": Answer("strong", 7.0)}, W).points["need"] == 30  # clamped to 1
    assert score({"need": Answer("strong", -1.0)}, W).points["need"] == 0


def test_an_unknown_answer_earns_nothing() -> None:
    assert score({"need": Answer("maybe", 1.0), "budget": Answer()}, W).score == 0


@PROPERTY
@given(
    values=st.tuples(*(st.sampled_from([*SHARES[c], "unknown"]) for c in CRITERIA)),
    confidences=st.tuples(*(st.floats(-1, 2) for _ in CRITERIA)),
)
def test_the_score_is_in_range_and_matches_its_class(values: tuple[str, ...], confidences: tuple[float, ...]) -> None:
    answers = {c: Answer(v, k) for c, v, k in zip(CRITERIA, values, confidences, strict=True)}
    result = score(answers, W)
    assert 0 <= result.score <= 100 and result.cls == classify(result.score)
    full = score({c: Answer(v, 1.0) for c, v in zip(CRITERIA, values, strict=True)}, W)
    assert result.score <= full.score


@pytest.mark.parametrize(
    ("amount", "band"), [(0, "none"), (-5, "none"), (1, "low"), (4_999, "low"), (5_000, "medium"),
                         (24_999, "medium"), (25_000, "high"), (10**7, "high")],
)  # fmt: skip
def test_budget_bands(amount: int, band: str) -> None:
    assert budget_band(amount, W) == band


def test_from_ai_reads_bands_amounts_confidence_and_words() -> None:
    result = {
        "budget": "low", "budget_amount": 30_000, "authority": "Decision maker", "need": "SOME",
        "timeline": "next decade", "opt_out": False,
        "confidence": {"budget": 0.9, "authority": 1.5, "need": "high"},
    }  # fmt: skip
    assert from_ai(result, W) == {
        "budget": Answer("high", 0.9),  # the amount wins over the band
        "authority": Answer("decision_maker", 1.0),
        "need": Answer("some", 1.0),  # no readable confidence: taken as sure
        "timeline": Answer("unknown", 0.0),
    }
    assert from_ai({"budget": 12_000}, W) == {"budget": Answer("medium", 1.0)}
    assert from_ai({"budget": True, "need": 3, "authority": None}, W) == {}


def test_only_a_json_true_opts_out() -> None:
    assert opted_out({"opt_out": True})
    assert not any(opted_out({"opt_out": v}) for v in ("true", 1, None, False))
    assert not opted_out({})


def test_from_dtmf() -> None:
    options = DEFAULT_SCRIPT.question("authority").options
    assert from_dtmf(options, "1") == Answer("decision_maker", 1.0)
    assert from_dtmf(options, "2#") == Answer("influencer", 1.0)
    assert from_dtmf(options, "7") == Answer() == from_dtmf(options, None)


def test_weights_from_a_custom_script_change_the_class() -> None:
    answers = sure(budget="none", authority="none", need="strong", timeline="none")
    assert score(answers, DEFAULT_SCRIPT.weights).cls == "cold"
    custom = replace(DEFAULT_SCRIPT, weights=Weights(budget=10, authority=10, need=70, timeline=10))
    assert validate(custom) == []
    assert score(answers, custom.weights).cls == "hot"


# -- the script -------------------------------------------------------------------------------------------------


def test_the_default_script_is_valid_and_round_trips() -> None:
    assert validate(DEFAULT_SCRIPT) == []
    assert CallScript.from_dict(DEFAULT_SCRIPT.to_dict()) == DEFAULT_SCRIPT


def test_a_stored_script_missing_fields_takes_the_defaults() -> None:
    stored = DEFAULT_SCRIPT.to_dict()
    del stored["voicemail"], stored["weights"]["need"]
    stored["greeting"] = "Hello"
    script = CallScript.from_dict(stored | {"unknown_field": 1})
    assert (script.greeting, script.voicemail, script.weights.need) == ("Hello", DEFAULT_SCRIPT.voicemail, 30)


def test_validate_names_every_bad_field() -> None:
    bad = replace(
        DEFAULT_SCRIPT,
        greeting=" ",
        disclosure="",
        closings={"warm": "x", "cold": ""},
        opt_out_digit="12",
        questions=(*DEFAULT_SCRIPT.questions[:3], Question("budget", "", "", {"x": "soon"})),
        follow_up_hours={**DEFAULT_SCRIPT.follow_up_hours, "warm": -1},
        weights=Weights(budget=-5, authority=25, need=30, timeline=20, budget_medium=9, budget_high=9),
    )
    errors = validate(bad)
    for expected in [
        "greeting: must not be empty", "disclosure: must not be empty when record is on",
        "closings.cold: must not be empty", "closings.opt_out: must not be empty",
        "opt_out_digit: must be one of 0-9, * or #",
        "questions: must ask each of budget, authority, need, timeline once",
        "questions[3].text: must not be empty", "questions[3].menu: must not be empty",
        "questions[3].options: 'x' is not a free menu digit", "questions[3].options: 'soon' is not an answer to budget",
        "follow_up_hours.warm: must be a whole number of hours, 0 or more", "weights.budget: must not be negative",
        "weights: budget, authority, need and timeline must sum to 100",
        "weights.budget_medium: must be above 0 and below weights.budget_high",
    ]:  # fmt: skip
        assert expected in errors
    assert validate(replace(DEFAULT_SCRIPT, record=False, disclosure="")) == []


def test_the_ai_parameters_are_a_json_schema_of_the_answers() -> None:
    import jsonschema

    schema = ai_parameters(DEFAULT_SCRIPT)
    jsonschema.Draft202012Validator.check_schema(schema)
    answer = {"budget": "high", "authority": "none", "need": "some", "timeline": "this_year", "opt_out": False,
              "confidence": {"budget": 0.5}}  # fmt: skip
    jsonschema.validate(answer, schema)
    assert set(schema["required"]) == {*CRITERIA, "opt_out"}
    assert schema["properties"]["authority"]["enum"] == ["decision_maker", "influencer", "none"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(answer | {"need": "lots"}, schema)
