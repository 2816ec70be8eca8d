"""The rules file: the seed's format loads verbatim; bad files get precise messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from src.router.config_errors import ConfigError
from src.router.rules import load_rules, parse_rules
from src.router.tasks import TaskType

SEED = """\
rules:
  - task_type: sentiment
    model: llama-cpp-7b
    reason: "Low latency, high throughput"
  - task_type: code_review
    model: claude-sonnet
    reason: "High quality review"
"""
MODELS = ["local-small", "llama-cpp-7b", "qwen-14b-vllm", "claude-sonnet", "claude-opus"]
REPO = Path(__file__).resolve().parents[2]


def test_the_seed_rules_file_loads_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "routing_rules.yaml"
    path.write_text(SEED)
    rules = load_rules(path, known_models=MODELS)
    assert [(r.task_type, r.model, r.reason) for r in rules.rules] == [
        (TaskType.SENTIMENT, "llama-cpp-7b", "Low latency, high throughput"),
        (TaskType.CODE_REVIEW, "claude-sonnet", "High quality review"),
    ]
    assert rules.default is None


def test_the_shipped_rules_file_is_valid_against_the_shipped_litellm_config() -> None:
    models = [m["model_name"] for m in yaml.safe_load((REPO / "config/litellm.example.yaml").read_text())["model_list"]]
    rules = load_rules(REPO / "config/routing_rules.yaml", known_models=models)
    assert rules.default is not None and rules.default.model == "local-small"


def test_unknown_model_names_the_file_the_key_path_and_the_known_models() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(
            yaml.safe_load(SEED.replace("claude-sonnet", "claude-sonet")), source="rules.yaml", known_models=MODELS
        )
    msg = str(info.value)
    assert "rules.yaml" in msg and "rules[1].model" in msg and "'claude-sonet'" in msg
    assert "LiteLLM knows: claude-opus, claude-sonnet" in msg


def test_unknown_task_type_lists_the_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules({"rules": [{"task_type": "poetry", "model": "local-small"}]}, source="r.yaml")
    msg = str(info.value)
    assert "rules[0].task_type" in msg and "'poetry'" in msg and "creative_writing" in msg


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"rules\[0\]\.modle"):
        parse_rules({"rules": [{"task_type": "sentiment", "modle": "x", "model": "local-small"}]}, source="r.yaml")


@pytest.mark.parametrize(
    ("cond", "fragment"),
    [
        ({"signal": "gpu_utilization_ratio"}, "exactly one of gt, ge, lt, le"),
        ({"signal": "gpu_utilization_ratio", "gt": 0.9, "lt": 0.95}, "exactly one of gt, ge, lt, le"),
        ({"signal": "backend_queue", "gt": 8}, "needs `model:`"),
        ({"signal": "cpu_ratio", "gt": 0.5, "model": "local-small"}, "takes no `model:`"),
        ({"signal": "gpu_temperature", "gt": 80}, "gpu_utilization_ratio"),
        ({"signal": "confidence", "ge": 80}, "confidence is between 0 and 1; ge: 80"),
        ({"signal": "confidence", "lt": -0.1}, "confidence is between 0 and 1; lt: -0.1"),
    ],
)
def test_bad_conditions_say_what_is_wrong(cond: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match="rules") as info:
        parse_rules(
            {"rules": [{"task_type": "code_generation", "model": "local-small", "when": [cond]}]}, source="r.yaml"
        )
    assert fragment in str(info.value)


def test_a_file_that_is_not_yaml_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rules: [\n  - task_type: : :")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_rules(path)


def test_a_fallback_cycle_is_refused_with_the_chain() -> None:
    with pytest.raises(ConfigError, match=r"rules\[0\].*cycle.*'local-small'"):
        parse_rules(
            {
                "rules": [
                    {"task_type": "sentiment", "model": "local-small", "fallbacks": ["llama-cpp-7b", "local-small"]}
                ]
            },
            source="r.yaml",
        )


def test_a_yaml_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    bomb.write_text("\n".join(lines) + "\nrules: []\n")
    with pytest.raises(ConfigError, match="aliases are not allowed"):
        load_rules(bomb)


def test_a_huge_file_is_refused_by_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("rules: []\n" + "# padding\n" * 200_000)
    with pytest.raises(ConfigError, match="larger than"):
        load_rules(big)


@pytest.mark.parametrize("value", [1.5, -0.2, "high"])
def test_a_confidence_floor_outside_zero_to_one_names_the_key_and_the_value(value: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules({"min_confidence": value, "rules": []}, source="r.yaml")
    msg = str(info.value)
    assert "r.yaml" in msg and "min_confidence" in msg and str(value) in msg


def test_a_confidence_floor_and_a_confidence_condition_load() -> None:
    rules = parse_rules(
        {
            "min_confidence": 0.55,
            "rules": [
                {"task_type": "code_review", "model": "claude-sonnet", "when": [{"signal": "confidence", "ge": 0.8}]}
            ],
        },
        source="r.yaml",
    )
    assert rules.min_confidence == 0.55
    assert rules.rules[0].when[0].describe() == "confidence >= 0.8"
