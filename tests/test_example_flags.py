"""The flags of example-repo/ load, sit at valid paths, and behave as their comments say."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from gitconfig.core import flagfile, yamltext
from gitconfig.core.evaluation import Evaluation, bucket, compile_flag
from gitconfig.core.model import EntryKey, Environment, FlagDocument, Kind
from gitconfig.core.paths import parse_entry_path

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "example-repo"
FLAG_FILES = sorted(
    path.relative_to(EXAMPLE).as_posix() for path in EXAMPLE.glob("flags/**/*") if path.is_file()
)
SCHEMA = json.loads((ROOT / "schemas" / "flag.schema.json").read_text("utf-8"))


def test_there_are_example_flags_in_every_environment() -> None:
    environments = {path.split("/")[2] for path in FLAG_FILES}
    assert environments == {env.value for env in Environment}


@pytest.mark.parametrize("path", FLAG_FILES)
def test_example_flag_loads(path: str) -> None:
    key = parse_entry_path(path)
    assert isinstance(key, EntryKey), key
    assert key.kind is Kind.FLAG
    data = (EXAMPLE / path).read_bytes()
    document = flagfile.load(data)
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(yamltext.parse(data))) == []
    assert flagfile.load(flagfile.render(document)) == document
    compile_flag(key.key, document)


def _flag(path: str) -> tuple[str, FlagDocument]:
    key = parse_entry_path(f"flags/{path}.yaml")
    assert isinstance(key, EntryKey)
    return key.key, flagfile.load((EXAMPLE / key.path).read_bytes())


def _evaluate(path: str, user_id: str | None, **attributes: str) -> Evaluation:
    key, document = _flag(path)
    return compile_flag(key, document).evaluate(user_id, attributes)


@pytest.mark.parametrize("environment", [env.value for env in Environment])
def test_kill_switch_is_off_everywhere(environment: str) -> None:
    result = _evaluate(f"trading-engine/{environment}/algo-trading-halt", "trader-1")
    assert result == Evaluation(False, None, "DISABLED", None)


def test_desk_allow_list() -> None:
    path = "trading-engine/PROD/v2-matching-engine"
    assert _evaluate(path, "t-1", desk="rates-emea").reason == "TARGETING_MATCH"
    assert _evaluate(path, "t-1", desk="equity-derivatives").reason == "DEFAULT"
    assert _evaluate(path, "t-1").reason == "DEFAULT"


def test_regional_rollout() -> None:
    path = "pricing/PROD/regional-pricing-model"
    assert _evaluate(path, None, region="UK").value == {
        "model": "regional-vol-surface",
        "version": 3,
    }
    assert not _evaluate(path, None, region="APAC").enabled


def test_ten_percent_rollout() -> None:
    key, document = _flag("risk-service/PROD/intraday-var-engine")
    compiled = compile_flag(key, document)
    assert compiled.evaluate("anyone", {"role": "risk-officer"}).reason == "TARGETING_MATCH"
    users = [f"trader-{n}" for n in range(2000)]
    inside = [user for user in users if compiled.evaluate(user, {}).enabled]
    assert inside == [user for user in users if bucket(key, user) < 10]
    assert 140 <= len(inside) <= 260  # 10 % of 2,000 is 200, sd 13.4: +/- 60 is 4.5 sd
    assert compiled.evaluate(None, {}).reason == "DEFAULT"


def test_and_conditions_bucketed_by_account() -> None:
    key, document = _flag("order-gateway/PROD/smart-order-routing")
    compiled = compile_flag(key, document)
    context = {"region": "US", "accountTier": "institutional", "assetClass": "equity"}
    accounts = [f"ACC-{n}" for n in range(400)]
    for account in accounts:
        results = {
            compiled.evaluate(trader, {**context, "accountId": account}).enabled
            for trader in ("alice", "bob", None)
        }
        assert results == {bucket(key, account) < 25}  # one answer per account
    assert not compiled.evaluate("alice", {**context, "region": "EU", "accountId": "ACC-1"}).enabled
    assert compiled.evaluate("qa", {"accountId": "TEST-0042"}).reason == "TARGETING_MATCH"
