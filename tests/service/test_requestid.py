"""Request ids: a caller's id is kept only when sane, by its text (``accept``) or by its raw
header bytes (``accept_header``, the read fast path's), with the same answer."""

from __future__ import annotations

import re

import pytest

from gitconfig.service import requestid

NEW = re.compile(rb"[0-9a-f]{32}")

SANE = ["a", "req-42", "A.b_c:d/e+f=g-h", "x" * 128, "0123456789abcdef0123456789abcdef"]
NOT_SANE = ["", "x" * 129, "a b", "a\tb", "a\nb", "a,b", "a;b", "é", "a\x00b", "id\r\nX-Evil: 1"]


@pytest.mark.parametrize("sent", SANE)
def test_a_sane_id_is_kept_by_text_and_by_bytes(sent: str) -> None:
    assert requestid.accept(sent) == sent
    assert requestid.accept_header(sent.encode("latin-1")) == sent.encode()


@pytest.mark.parametrize("sent", NOT_SANE)
def test_any_other_id_is_replaced_by_a_new_one(sent: str) -> None:
    raw = sent.encode("latin-1")
    by_text, by_bytes = requestid.accept(sent).encode(), requestid.accept_header(raw)
    assert NEW.fullmatch(by_text)
    assert NEW.fullmatch(by_bytes)
    assert by_text != by_bytes  # each a new, distinct id


def test_new_ids_are_distinct() -> None:
    made = {requestid.new() for _ in range(1000)}
    assert len(made) == 1000
    assert all(NEW.fullmatch(i) for i in made)
