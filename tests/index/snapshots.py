"""A repository of every shape for index tests, and snapshot comparison field by field
(a warm start and a two-process build must equal a cold build on one core). The repository
itself is the ``repo`` fixture of ``conftest.py``."""

from __future__ import annotations

from gitconfig.index.snapshot import Entry, Snapshot

SCHEMA = '{"type": "object", "required": ["host"]}'
FLAG = """description: new checkout
enabled: true
value: true
tags: [web, checkout]
rules:
  - attribute: region
    operator: IN
    values: [EU, UK]
  - conditions:
      - {attribute: plan, operator: EQUALS, values: [pro]}
    percentage: 30
    bucket_by: account
"""


def assert_same(warm: Snapshot, cold: Snapshot) -> None:
    assert warm.commit == cold.commit
    assert warm.problems == cold.problems
    assert warm.schemas == cold.schemas
    assert warm.tombstones == cold.tombstones
    assert dict(warm.folded) == dict(cold.folded)
    assert set(warm.groups) == set(cold.groups)
    assert set(warm.ids) == set(cold.ids)
    for group_key, group in cold.groups.items():
        assert set(warm.groups[group_key]) == set(group)
        for key, entry in group.items():
            assert_same_entry(warm.groups[group_key][key], entry)
            assert warm.ids[entry.id] is warm.groups[group_key][key]


def assert_same_entry(warm: Entry, cold: Entry) -> None:
    assert warm.key == cold.key
    assert warm.id == cold.id
    assert warm.document == cold.document
    assert type(warm.document.value) is type(cold.document.value)
    assert warm.versions == cold.versions
    assert warm.served == cold.served
    # The served version is one of the history's own objects, at the same place.
    assert [v is warm.served for v in warm.versions] == [v is cold.served for v in cold.versions]
    for w, c in zip(warm.versions, cold.versions, strict=True):
        assert w.commit.time.utcoffset() == c.commit.time.utcoffset()
    assert (warm.flag is None) == (cold.flag is None)
