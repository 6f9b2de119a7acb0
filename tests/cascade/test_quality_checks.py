"""Each built-in quality check on its own, with drafts like the ones small models really produce."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any, cast

import pytest

from cascadeflow.cascade.quality.base import CheckResult, ValidationContext
from cascadeflow.cascade.quality.checks.answer_type import AnswerTypeSettings, check_answer_type
from cascadeflow.cascade.quality.checks.completeness import CompletenessSettings, check_completeness
from cascadeflow.cascade.quality.checks.confidence import ConfidenceSettings, check_confidence
from cascadeflow.cascade.quality.checks.degeneration import DegenerationSettings, check_degeneration
from cascadeflow.cascade.quality.checks.refusal import RefusalSettings, check_refusal
from cascadeflow.cascade.quality.checks.relevance import RelevanceSettings, check_relevance
from cascadeflow.cascade.quality.checks.tool_calls import ToolCallsSettings, check_tool_calls, schema_errors
from cascadeflow.cascade.quality.text import content_stems, stem, words_of
from cascadeflow.config import CheckSettings
from cascadeflow.errors import ConfigError
from cascadeflow.types import (
    Completion,
    CompletionRequest,
    Message,
    ResponseFormat,
    TokenLogprob,
    ToolCall,
    ToolSpec,
)

SETTINGS = CheckSettings()
COMPLETENESS = CompletenessSettings()
REFUSAL = RefusalSettings()
DEGENERATION = DegenerationSettings()
RELEVANCE = RelevanceSettings()
ANSWER_TYPE = AnswerTypeSettings()
CONFIDENCE = ConfidenceSettings()
TOOL_CALLS = ToolCallsSettings()
CTX = ValidationContext(threshold=0.7)


def request(query: str, *, response_format: ResponseFormat | None = None, tools: tuple[ToolSpec, ...] = ()) -> (
    CompletionRequest
):
    return CompletionRequest(
        messages=(Message(role="user", content=query),), response_format=response_format, tools=tools
    )


def draft(content: str, **kw: object) -> Completion:
    return Completion(content=content, model="small", **kw)  # type: ignore[arg-type]


def vetoed(result: CheckResult) -> bool:
    return result.applicable and result.score < SETTINGS.veto


# --------------------------------------------------------------------------- completeness
def test_empty_answer_is_vetoed() -> None:
    result = check_completeness(request("What color is the sky?"), draft("   \n"), CTX, COMPLETENESS)
    assert result.score == 0.0 and "empty" in result.reason


def test_empty_content_with_tool_calls_is_complete() -> None:
    call = ToolCall(id="1", name="get_weather", arguments='{"city": "Paris"}')
    result = check_completeness(request("Weather in Paris?"), draft("", tool_calls=(call,)), CTX, COMPLETENESS)
    assert result.score == 1.0


@pytest.mark.parametrize("finish_reason", ["length", "max_tokens"])
def test_truncated_answer_is_vetoed(finish_reason: str) -> None:
    text = "Photosynthesis happens in two stages. First, the light-dependent reactions in the thylakoid"
    result = check_completeness(request("Explain photosynthesis."), draft(text, finish_reason=finish_reason), CTX,
                                COMPLETENESS)  # fmt: skip
    assert vetoed(result) and "truncated" in result.reason


def test_content_filter_and_unclosed_code_fence_are_vetoed() -> None:
    filtered = check_completeness(request("q"), draft("Here is", finish_reason="content_filter"), CTX, COMPLETENESS)
    assert vetoed(filtered)
    unclosed = "Sure:\n```python\ndef add(a, b):\n    return a +"
    result = check_completeness(request("Write an add function"), draft(unclosed), CTX, COMPLETENESS)
    assert vetoed(result) and "code block" in result.reason


def test_complete_answer_scores_one() -> None:
    result = check_completeness(request("Capital of France?"), draft("Paris."), CTX, COMPLETENESS)
    assert result.score == 1.0 and result.applicable


# --------------------------------------------------------------------------- refusal / hedging
@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that request.",
        "As an AI language model, I don't have personal opinions, but many people enjoy both cats and dogs.",
        "I apologize, but I am unable to provide real-time stock prices.",
        "I cannot assist with creating malware.",
        "I’m not able to browse the internet, so I can’t check today's weather for you.",
        "Sorry, but I can't share information about private individuals.",
    ],
)
def test_refusals_are_vetoed(text: str) -> None:
    result = check_refusal(request("q"), draft(text), CTX, REFUSAL)
    assert result.score == 0.0 and "refusal" in result.reason


@pytest.mark.parametrize(
    "text",
    [
        "I'm not sure, I don't know.",
        "I don't know the answer to that question.",
        "Hmm, I cannot be certain, but it might have been around 1850?",
        "I'm not entirely sure. It could be either Canberra or Sydney.",
        "It's hard to say without more information.",
        "I have no idea, sorry!",
    ],
)
def test_hedges_are_vetoed(text: str) -> None:
    result = check_refusal(request("q"), draft(text), CTX, REFUSAL)
    assert result.score == 0.0 and "hedging" in result.reason


@pytest.mark.parametrize(
    "text",
    [
        'The phrase "I\'m not sure" is a common, polite way to express uncertainty in English.',
        "Many travellers are not sure whether Sydney or Canberra is the capital; it is Canberra.",
        "It's fine to say I don't know when you lack the facts, and then look them up.",
        "The Eiffel Tower is 330 metres tall, including its antennas.",
        "Wi-Fi can't reach through thick concrete walls very well, so add a mesh node.",
    ],
)
def test_quotes_third_person_and_reported_speech_are_not_hedges(text: str) -> None:
    assert check_refusal(request("q"), draft(text), CTX, REFUSAL).score == 1.0


def test_a_passing_hedge_late_in_a_long_confident_answer_costs_a_little() -> None:
    text = (
        "The speed of light in a vacuum is exactly 299,792,458 metres per second. This value is exact because "
        "the metre has been defined in terms of it since 1983, so it is no longer measured but fixed. Light "
        "travels slower in materials such as water or glass, which is why lenses bend it, and the ratio of the "
        "speeds is the refractive index used throughout optics and engineering today. Historians still argue "
        "about who first estimated it; I'm not sure anyone settled that, but Ole Rømer's 1676 estimate from the "
        "moons of Jupiter is usually credited as the first quantitative measurement of its finite speed."
    )
    result = check_refusal(request("How fast is light?"), draft(text), CTX, REFUSAL)
    assert result.score == REFUSAL.passing_score
    assert result.score >= SETTINGS.veto and "passing" in result.reason


def test_repeated_hedges_after_the_opening_are_vetoed_by_density() -> None:
    text = (
        "Tokyo is the capital of Japan and its largest city, with many districts and a long history as "
        "the seat of government since the 19th century. As for the exact population, I don't know the latest "
        "census figure, and I'm not sure whether it counts the wider metropolitan area."
    )
    result = check_refusal(request("Tell me about Tokyo"), draft(text), CTX, REFUSAL)
    assert result.score == 0.0 and "2x" in result.reason


# --------------------------------------------------------------------------- degeneration
GOOD_PROSE = (
    "The sky appears blue because molecules in the atmosphere scatter shorter blue wavelengths of sunlight "
    "more than longer red ones. This effect is called Rayleigh scattering. At sunset the light travels "
    "through more air, so reds and oranges dominate."
)


def test_repetition_loop_is_vetoed() -> None:
    text = "The capital of France is Paris. " * 15
    result = check_degeneration(request("Capital of France?"), draft(text), CTX, DEGENERATION)
    assert result.score == 0.0 and "repetition loop" in result.reason


def test_repeated_lines_are_vetoed_even_when_ngrams_are_tolerated() -> None:
    settings = DegenerationSettings(repeat_max_ratio=1.0)
    text = "Steps to bake bread:\n" + "1. Mix the flour with water and yeast.\n" * 6 + "2. Bake it."
    result = check_degeneration(request("How do I bake bread?"), draft(text), CTX, settings)
    assert result.score == 0.0 and "lines are repeats" in result.reason


@pytest.mark.parametrize(
    "text",
    [
        "asdkjh qwrtzp lkjhgf mnbvcx zxcvbn qwrtyp sdfghj kjhgfd plmkjn",
        "!" * 60,
        "hahahahahahahahahahahahahahahahahahahahahahahahahahaha",
        "The answer is \ufffd\ufffd\ufffd\ufffd clearly",
        "".join(random.Random(7).choice(string.printable[:94]) for _ in range(300)),
    ],
    ids=["keyboard-mash", "bangs", "haha", "replacement-chars", "random-soup"],
)
def test_gibberish_is_vetoed(text: str) -> None:
    result = check_degeneration(request("Why is the sky blue?"), draft(text), CTX, DEGENERATION)
    assert result.score == 0.0 and result.reason.startswith("degeneration:")


@pytest.mark.parametrize(
    "text",
    [
        GOOD_PROSE,
        "No, no, no.",
        "```python\nfor i in range(10):\n    if i % 2:\n        print(i)\n    else:\n        print(-i)\n```",
        "| Name | Age |\n|------|-----|\n| Bob | 42 |\n| Alice | 37 |\n| Carol | 29 |",
        "Use HTTPS, DNS over TLS and a strict CSP header; HTTP alone exposes the session cookie.",
        "1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987",
        "天空看起来是蓝色的，因为大气中的分子对阳光中较短的蓝色波长的散射比对较长的红色波长的散射更多。这种效应被称为瑞利散射。",
        "aGVsbG8gd29ybGQsIHRoaXMgaXMgYSBiYXNlNjQgZW5jb2RlZCBtZXNzYWdlIHRoYXQgaXMgcXVpdGUgbG9uZyBpbmRlZWQ=",
    ],
    ids=["prose", "emphasis", "code", "table", "acronyms", "numbers", "chinese", "base64"],
)
def test_ordinary_answers_are_not_degenerate(text: str) -> None:
    assert check_degeneration(request("q"), draft(text), CTX, DEGENERATION).score == 1.0


# --------------------------------------------------------------------------- relevance
def test_short_answer_to_short_question_is_judged_leniently() -> None:
    result = check_relevance(request("What color is the sky?"), draft("Blue."), CTX, RELEVANCE)
    assert result.score == RELEVANCE.lenient_score >= SETTINGS.veto


def test_off_topic_answer_to_a_substantive_question_is_vetoed() -> None:
    query = "Explain how photosynthesis converts sunlight into chemical energy in plants."
    text = (
        "The French Revolution began in 1789 with the storming of the Bastille, and it transformed "
        "European politics for decades afterwards."
    )
    result = check_relevance(request(query), draft(text), CTX, RELEVANCE)
    assert result.score == 0.0 and "0 of" in result.reason


def test_long_off_topic_answer_to_a_short_question_is_vetoed() -> None:
    text = (
        "Sourdough bread needs a lively starter, flour, water and salt. Mix them, let the dough rest, fold it "
        "every half hour, shape it, proof it overnight in the fridge and bake it in a very hot oven with steam "
        "for a crisp crust and an open crumb."
    )
    assert check_relevance(request("What color is the sky?"), draft(text), CTX, RELEVANCE).score == 0.0


def test_on_topic_answer_scores_one_and_stems_match() -> None:
    result = check_relevance(request("Why do we yawn?"), draft("Yawning may help cool the brain."), CTX, RELEVANCE)
    assert result.score == 1.0
    query = "Explain how photosynthesis converts sunlight into chemical energy in plants."
    text = "Plants capture sunlight with chlorophyll; photosynthesis stores its energy as chemical bonds in sugar."
    assert check_relevance(request(query), draft(text), CTX, RELEVANCE).score == 1.0


def test_relevance_is_not_applicable_to_translations_or_topicless_questions() -> None:
    translated = check_relevance(request("Translate 'good morning' to Spanish."), draft("Buenos días."), CTX,
                                 RELEVANCE)  # fmt: skip
    assert not translated.applicable
    assert not check_relevance(request("How are you?"), draft("Great, thanks!"), CTX, RELEVANCE).applicable


def test_text_helpers() -> None:
    assert words_of("lock-free maps, newton's laws!") == ["lock-free", "maps", "newton's", "laws"]
    assert [stem(w) for w in ("bones", "uses", "studies", "yawning", "played", "class")] == [
        "bon", "use", "study", "yawn", "play", "class",
    ]  # fmt: skip
    assert content_stems("what is the boiling point of water in 2024?") == ["boil", "point", "water"]


# --------------------------------------------------------------------------- answer type
def test_number_question_answered_with_prose_is_vetoed() -> None:
    text = "The adult human body has a lot of bones, which support movement and protect the organs."
    result = check_answer_type(request("How many bones are in the adult human body?"), draft(text), CTX, ANSWER_TYPE)
    assert result.score == 0.0 and "number" in result.reason


@pytest.mark.parametrize("text", ["Four.", "A spider has 8 legs.", "Roughly a dozen."])
def test_number_question_answered_with_a_number_passes(text: str) -> None:
    result = check_answer_type(request("How many legs does a spider have?"), draft(text), CTX, ANSWER_TYPE)
    assert result.score == 1.0


@pytest.mark.parametrize(
    "query", ["What is 17 * 23?", "Calculate 15% of 80.", "Solve for x: 3x + 7 = 22", "How much is 2 + 2?"]
)
def test_arithmetic_questions_expect_a_number(query: str) -> None:
    assert check_answer_type(request(query), draft("It depends on the context."), CTX, ANSWER_TYPE).score == 0.0


def test_code_request_answered_without_code_is_vetoed() -> None:
    text = "You can reverse a string by reading its characters from the end to the start."
    result = check_answer_type(request("Write a Python function that reverses a string."), draft(text), CTX,
                               ANSWER_TYPE)  # fmt: skip
    assert result.score == 0.0 and "contains none" in result.reason


def test_code_request_answered_with_invalid_python_is_vetoed() -> None:
    text = "Here you go:\n```python\ndef reverse(s)\n    return s[::-1\n```"
    result = check_answer_type(request("Write a Python function that reverses a string."), draft(text), CTX,
                               ANSWER_TYPE)  # fmt: skip
    assert result.score == 0.0 and "syntax error" in result.reason


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Write a Python function that reverses a string.", "```python\ndef reverse(s):\n    return s[::-1]\n```"),
        ("Write a function that adds two numbers.", "```\ndef add(a, b):\n    return a + b\n```"),
        ("Write a JavaScript function that adds two numbers.", "```js\nfunction add(a, b) { return a + b; }\n```"),
        ("Write a function that adds two numbers.", "```\nfunction add(a, b) {\n  return a + b;\n}\n```"),
        ("Write a Python function that doubles x.", "def double(x):\n    return 2 * x"),
    ],
    ids=["python-fenced", "untagged-python", "js-tagged", "untagged-js", "bare-python"],
)
def test_code_request_answered_with_valid_code_passes(query: str, text: str) -> None:
    assert check_answer_type(request(query), draft(text), CTX, ANSWER_TYPE).score == 1.0


def test_unbalanced_javascript_is_vetoed() -> None:
    text = "```javascript\nfunction add(a, b) {\n  return a + b;\n```"
    result = check_answer_type(request("Write a JavaScript function to add numbers"), draft(text), CTX, ANSWER_TYPE)
    assert result.score == 0.0


def test_json_requested_by_response_format() -> None:
    req = request("Describe a user with a name and an age.", response_format="json")
    assert check_answer_type(req, draft('{"name": "Alice", "age": 30}'), CTX, ANSWER_TYPE).score == 1.0
    fenced = check_answer_type(req, draft('```json\n{"name": "Alice", "age": 30}\n```'), CTX, ANSWER_TYPE)
    assert fenced.score == ANSWER_TYPE.json_embedded_score
    prose = check_answer_type(req, draft("The user is Alice, who is 30 years old."), CTX, ANSWER_TYPE)
    assert prose.score == 0.0 and "not valid JSON" in prose.reason


def test_json_requested_in_words() -> None:
    req = request("Return the three largest planets as a JSON array of names.")
    assert check_answer_type(req, draft('["Jupiter", "Saturn", "Uranus"]'), CTX, ANSWER_TYPE).score == 1.0
    wrapped = check_answer_type(req, draft('Sure! ["Jupiter", "Saturn", "Uranus"]'), CTX, ANSWER_TYPE)
    assert wrapped.score == ANSWER_TYPE.json_embedded_score
    assert check_answer_type(req, draft("Jupiter, Saturn and Uranus."), CTX, ANSWER_TYPE).score == 0.0


@pytest.mark.parametrize(
    "query",
    [
        "What color is the sky?",
        "Explain what JSON is.",
        "Calculate the derivative of sin(x).",
        "How do I reverse a list in Python?",
        "Evaluate the pros and cons of remote work.",
    ],
)
def test_answer_type_not_applicable_without_a_type_request(query: str) -> None:
    assert not check_answer_type(request(query), draft("Some answer."), CTX, ANSWER_TYPE).applicable


# --------------------------------------------------------------------------- confidence
def logprobs(*values: float) -> tuple[TokenLogprob, ...]:
    return tuple(TokenLogprob(token=f"t{i}", logprob=v) for i, v in enumerate(values))


def test_confidence_needs_real_logprobs() -> None:
    assert not check_confidence(request("q"), draft("Paris."), CTX, CONFIDENCE).applicable
    assert not check_confidence(request("q"), draft("Paris.", logprobs=()), CTX, CONFIDENCE).applicable


def test_confident_tokens_score_high_and_unsure_tokens_veto() -> None:
    sure = check_confidence(request("q"), draft("Paris.", logprobs=logprobs(-0.01, -0.05, -0.2)), CTX, CONFIDENCE)
    assert sure.score == 1.0
    unsure = check_confidence(request("q"), draft("Lyon?", logprobs=logprobs(-3.0, -4.5, -9.5)), CTX, CONFIDENCE)
    assert unsure.score == 0.0 and unsure.score < SETTINGS.veto


def test_confidence_blends_mean_and_weakest_token() -> None:
    # mean -1.4 -> (−1.4+2.5)/2.2 = 0.5; weakest −2.5 -> 1.0; blend 0.7*0.5 + 0.3*1.0
    result = check_confidence(request("q"), draft("x", logprobs=logprobs(-0.3, -2.5)), CTX, CONFIDENCE)
    assert result.score == pytest.approx(0.65)
    assert "-1.40" in result.reason and "-2.50" in result.reason


# --------------------------------------------------------------------------- tool calls
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "units": {"type": "string", "enum": ["c", "f"]},
            "hourly": {"type": "boolean"},
            "fields": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["city"],
    },
)


def tool_draft(name: str, arguments: str) -> Completion:
    return draft("", tool_calls=(ToolCall(id="call_1", name=name, arguments=arguments),), finish_reason="tool_calls")


def test_valid_tool_call_passes() -> None:
    req = request("Weather in Paris for 3 days?", tools=(WEATHER,))
    args = '{"city": "Paris", "days": 3, "units": "c", "hourly": false, "fields": ["rain"]}'
    result = check_tool_calls(req, tool_draft("get_weather", args), CTX, TOOL_CALLS)
    assert result.score == 1.0 and "get_weather" in result.reason


@pytest.mark.parametrize(
    ("name", "arguments", "fragment"),
    [
        ("get_wether", '{"city": "Paris"}', "unknown tool 'get_wether'"),
        ("get_weather", '{"city": "Paris",', "not valid JSON"),
        ("get_weather", '{"days": 3}', "arguments.city is required"),
        ("get_weather", '{"city": "Paris", "days": "three"}', "arguments.days should be integer"),
        ("get_weather", '{"city": "Paris", "days": true}', "arguments.days should be integer"),
        ("get_weather", '{"city": "Paris", "units": "kelvin"}', "must be one of"),
        ("get_weather", '{"city": "Paris", "fields": ["rain", 3]}', "arguments.fields[1] should be string"),
        ("get_weather", '["Paris"]', "arguments should be object"),
    ],
)
def test_invalid_tool_calls_are_vetoed(name: str, arguments: str, fragment: str) -> None:
    req = request("Weather in Paris?", tools=(WEATHER,))
    result = check_tool_calls(req, tool_draft(name, arguments), CTX, TOOL_CALLS)
    assert result.score == 0.0 and fragment in result.reason


def test_tool_call_when_no_tools_were_offered_is_vetoed() -> None:
    result = check_tool_calls(request("Hi"), tool_draft("get_weather", "{}"), CTX, TOOL_CALLS)
    assert result.score == 0.0 and "offered: none" in result.reason


def test_tool_calls_not_applicable_without_calls() -> None:
    assert not check_tool_calls(request("Hi"), draft("Hello!"), CTX, TOOL_CALLS).applicable


def test_schema_errors_accepts_numbers_and_union_types() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": ["string", "null"]}}}
    assert schema_errors({"x": 1, "y": None}, schema) == []
    assert schema_errors({"x": 1.5, "y": "a"}, schema) == []
    assert schema_errors({"x": "1"}, schema) == ["arguments.x should be number, got str"]


# --------------------------------------------------------------------------- settings and registry
@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: CheckSettings(veto=1.5), "CheckSettings.veto"),
        (lambda: CheckSettings(weights={"refusal": -1.0}), "CheckSettings.weights['refusal']"),
        (lambda: CheckSettings(options={"refusal": 5}), "CheckSettings.options['refusal']"),
        (lambda: cast(Any, CheckSettings)(options=[("refusal", {})]), "CheckSettings.options"),
        (lambda: CompletenessSettings(truncated_score=1.5), "CompletenessSettings.truncated_score"),
        (lambda: DegenerationSettings(repeat_ngram=0), "DegenerationSettings.repeat_ngram"),
        (lambda: DegenerationSettings(entropy_low=6.0), "DegenerationSettings.entropy_low"),
        (lambda: cast(Any, DegenerationSettings)(entropy_high="x"), "DegenerationSettings.entropy_high"),
        (lambda: cast(Any, RefusalSettings)(lead_chars=2.5), "RefusalSettings.lead_chars"),
        (lambda: RefusalSettings(max_density=-0.1), "RefusalSettings.max_density"),
        (lambda: RelevanceSettings(full_coverage=0.0), "RelevanceSettings.full_coverage"),
        (lambda: RelevanceSettings(short_answer_words=True), "RelevanceSettings.short_answer_words"),
        (lambda: AnswerTypeSettings(json_embedded_score=2.0), "AnswerTypeSettings.json_embedded_score"),
        (lambda: ConfidenceSettings(mean_floor=-0.1), "ConfidenceSettings.mean_floor"),
        (lambda: ConfidenceSettings(min_ceiling=1.0), "ConfidenceSettings.min_ceiling"),
        (lambda: ConfidenceSettings(min_weight=float("nan")), "ConfidenceSettings.min_weight"),
    ],
)
def test_check_settings_reject_bad_values(build: Callable[[], object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.field == field


def test_short_follow_up_in_a_conversation_is_judged_leniently() -> None:
    req = CompletionRequest(
        messages=(
            Message(role="user", content="Write a paragraph about climate change."),
            Message(role="assistant", content="Climate change is the long-term shift in temperatures..."),
            Message(role="user", content="Can you make it shorter?"),
        )
    )
    text = (
        "Climate change is the long-term warming of the planet, driven mainly by burning fossil fuels, which "
        "traps heat in the atmosphere, raises sea levels and makes extreme weather more frequent and severe."
    )
    assert check_relevance(req, draft(text), CTX, RELEVANCE).score == RELEVANCE.lenient_score


@pytest.mark.parametrize(
    "query",
    [
        "What is a JSON object?",
        "Name three data formats such as JSON.",
        "Write a poem about clean code.",
        "How much do you know about Rome?",
        "How big a deal is a 1% fee?",
    ],
)
def test_questions_about_a_type_do_not_demand_that_type(query: str) -> None:
    result = check_answer_type(request(query), draft("It is a way to write things down."), CTX, ANSWER_TYPE)
    assert not result.applicable, result.reason


@pytest.mark.parametrize(
    ("query", "expected_ok", "expected_bad"),
    [
        ("Convert this list into JSON: apples, pears", '["apples", "pears"]', "apples and pears"),
        ("Respond only in JSON with keys a and b.", '{"a": 1, "b": 2}', "a is 1 and b is 2"),
        ("Give me a JSON object with a name.", '{"name": "Ada"}', "Her name is Ada."),
    ],
)
def test_explicit_json_requests_demand_json(query: str, expected_ok: str, expected_bad: str) -> None:
    assert check_answer_type(request(query), draft(expected_ok), CTX, ANSWER_TYPE).score == 1.0
    assert check_answer_type(request(query), draft(expected_bad), CTX, ANSWER_TYPE).score == 0.0


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("def reverse(s)\n    return s[::-1", 0.0),
        ("def reverse(s):\n    return s[::-1]\nThis slices the string backwards.", 1.0),
        ("Use slicing.\ndef reverse(s)\n    return s[::-1", ANSWER_TYPE.unfenced_code_score),
    ],
    ids=["bare-broken", "bare-with-trailing-prose", "prose-then-broken"],
)
def test_unfenced_code_is_parsed_from_its_first_code_line(text: str, score: float) -> None:
    req = request("Write a Python function that reverses a string.")
    assert check_answer_type(req, draft(text), CTX, ANSWER_TYPE).score == score


def test_only_blocks_in_the_requested_language_count() -> None:
    req = request("Write a Python script that prints the date.")
    text = (
        "Install nothing:\n```bash\npython3 date.py\n```\n```python\nimport datetime\nprint(datetime.date.today()\n```"
        "\nOutput:\n```text\n2024-05-01\n```"
    )
    result = check_answer_type(req, draft(text), CTX, ANSWER_TYPE)
    assert result.score == 0.0 and "line 2" in result.reason
    only_output = check_answer_type(req, draft("```text\n2024-05-01\n```"), CTX, ANSWER_TYPE)
    assert only_output.score == 0.0 and "only output blocks" in only_output.reason
