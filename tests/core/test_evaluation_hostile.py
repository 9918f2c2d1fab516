"""The evaluator never crashes the process: mmh3 (5.x) dereferences NULL when given a str
holding a lone surrogate, which every door refuses but which an embedding application (the
local client) can still pass. Run in a child process, so that a crash fails the test rather
than ending the test run."""

from __future__ import annotations

import subprocess
import sys

import mmh3

from gitconfig.core.evaluation import bucket

_PROGRAM = """
from gitconfig.core.evaluation import bucket, compile_flag
from gitconfig.core.model import FlagDocument, FlagRule

document = FlagDocument(description="", enabled=True, rules=(FlagRule(percentage=50),))
by_account = FlagDocument(
    description="", enabled=True, rules=(FlagRule(percentage=50, bucket_by="accountId"),)
)
for text in ("\\ud800", "a\\udfffb", "caf\\u00e9\\ud83d"):
    assert 0 <= bucket("flag", text) < 100
    assert compile_flag("flag", document).evaluate(text, {}).reason == "SPLIT"
    assert compile_flag("flag", by_account).evaluate(None, {"accountId": text}).reason == "SPLIT"
print("ok")
"""


def test_lone_surrogates_are_bucketed_not_a_crash() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_valid_text_buckets_as_its_utf8_bytes() -> None:
    # the golden vectors' rule: murmur3 of the UTF-8 bytes, ASCII or not
    assert bucket("AB12A", "122") == 22
    for value in ("café", "日本", "user-1"):
        assert bucket("flag", value) == mmh3.hash(f"flag:{value}".encode(), 0, False) % 100
