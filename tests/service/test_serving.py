"""Renderings kept per entry and audience (``SecretBox.rendering``, on a
``readside.Renderings``): the masked one is shared by every caller, a revealed one only with
callers who may reveal, and never a fallback mask; and a flag's answers kept per evaluation
object (``readside.EvaluationRenderings``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitconfig.access.principals import Principal
from gitconfig.core.configfile import MASK
from gitconfig.core.evaluation import Evaluation
from gitconfig.core.model import Author, ConfigDocument, Kind
from gitconfig.index.refresher import Index
from gitconfig.readside import EvaluationRenderings
from gitconfig.service import NewConfig, NewFlag, Service, build_service
from gitconfig.store.gitstore import GitStore
from gitconfig.store.secrets import Sops
from tests.support.agekeys import AgeKeys

ADMIN = Principal("admin", frozenset({"admin"}))
REVEALER = Principal("revealer", frozenset({"read", "reveal"}))
READER = Principal("reader", frozenset({"read"}))


def _secret_service(bare_repo: Path, tmp_path: Path, mode: str) -> Service:
    keys = AgeKeys.make(tmp_path / "keys")
    store = GitStore(bare_repo)
    store.write(store.head(), {".sops.yaml": keys.sops_yaml()}, Author("t", "t@x"), "rules")
    key_file = keys.key_file("dev", "prod")
    environ = {"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(key_file)}
    writer = build_service(store, Index(store), Sops(environ))
    writer.index.refresh()
    writer.configs.create(ADMIN, NewConfig("db-password", "shop", "PROD", "SECRET", "s3cret-X"))
    if mode == "wrong key":
        environ = {"HOME": str(tmp_path), "SOPS_AGE_KEY_FILE": str(keys.key_file("dev"))}
    service = build_service(store, Index(store), Sops(environ))
    if mode == "no sops":  # sops cannot run here (not installed): a transient failure
        service.box.sops._binary = str(tmp_path / "no-such-sops")
    service.index.refresh()
    return service


def test_a_plain_value_is_rendered_once_for_every_caller(service: Service) -> None:
    service.configs.create(ADMIN, NewConfig("limit", "shop", "DEV", "NUMBER", "1"))
    entry = service.reads.lookup(ADMIN, Kind.CONFIG, "shop", "DEV", "limit")
    made: list[str] = []

    def render() -> int:
        made.append("x")
        return len(made)

    for principal in (ADMIN, READER, REVEALER):
        got = service.box.rendering(principal, entry, "t", render)
        assert got == 1
    assert made == ["x"]
    assert not service.box.reveals_to(ADMIN, entry)


@pytest.mark.parametrize(
    ("mode", "plaintext", "kept"),
    [("decrypts", "s3cret-X", True), ("wrong key", MASK, True), ("no sops", MASK, False)],
)
def test_a_secret_is_rendered_per_audience(
    bare_repo: Path, tmp_path: Path, mode: str, plaintext: str, kept: bool
) -> None:
    service = _secret_service(bare_repo, tmp_path, mode)
    entry = service.reads.lookup(ADMIN, Kind.CONFIG, "shop", "PROD", "db-password")
    assert service.box.reveals_to(REVEALER, entry)
    assert not service.box.reveals_to(READER, entry)
    document = entry.document
    assert isinstance(document, ConfigDocument)

    def render(principal: Principal) -> str:
        return service.box.served_text(principal, document, entry.key, entry.served.blob)

    assert service.box.rendering(READER, entry, "t", lambda: render(READER)) == MASK
    assert service.box.rendering(REVEALER, entry, "t", lambda: render(REVEALER)) == plaintext
    assert service.box.renderings[(entry, "t.False")] == MASK
    # a revealed rendering is kept once sops answered for this blob (the plaintext, or a
    # definitive failure), never the mask of a sops that could not run
    assert ((entry, "t.True") in service.box.renderings) is kept


def test_a_flag_answer_is_kept_per_evaluation_object(service: Service) -> None:
    service.flags.create(ADMIN, NewFlag("beta", "shop", "DEV", "a flag", enabled=True))
    entry = service.reads.lookup(ADMIN, Kind.FLAG, "shop", "DEV", "beta")
    assert entry.flag is not None
    evaluation = entry.flag.evaluate("u1", {})
    made: list[Evaluation] = []

    def render(which: Evaluation) -> str:
        made.append(which)
        return which.reason

    kept = EvaluationRenderings[str]()
    assert kept.rendering(entry, evaluation, lambda: render(evaluation)) == evaluation.reason
    assert entry.flag.evaluate("u2", {}) is evaluation  # compiled flags share the object
    kept.rendering(entry, evaluation, lambda: render(evaluation))
    assert made == [evaluation]
    other = Evaluation(False, None, "DISABLED", None)  # another object: rendered, and kept
    kept.rendering(entry, other, lambda: render(other))
    kept.rendering(entry, other, lambda: render(other))
    assert made == [evaluation, other]


def test_flag_answers_are_bounded_across_entries(service: Service) -> None:
    service.flags.create(ADMIN, NewFlag("beta", "shop", "DEV", "a flag"))
    entry = service.reads.lookup(ADMIN, Kind.FLAG, "shop", "DEV", "beta")
    evaluations = [Evaluation(False, None, f"R{n}", None) for n in range(3)]
    kept = EvaluationRenderings[int](limit=2)
    for evaluation in evaluations:
        kept.rendering(entry, evaluation, lambda: 0)
    assert 1 <= len(kept) <= 2
