"""Table cases for the operators beyond the seed's (SemVer), shared by the operator tests and
the evaluator's coverage check."""

from __future__ import annotations

SEMVER_CASES = [
    # operator, values, attribute value (None: missing), matches
    ("SEMVER_EQUALS", ["1.0.0"], "1.0.0", True),
    ("SEMVER_EQUALS", ["1.0.0"], "1.0.0+build.7", True),  # build metadata ignored
    ("SEMVER_EQUALS", ["1.0.0+a"], "1.0.0+b", True),
    ("SEMVER_EQUALS", ["1.0.0"], "1.0.0-rc.1", False),
    ("SEMVER_EQUALS", ["1.0.0", "2.0.0"], "2.0.0", True),  # any of them
    ("SEMVER_EQUALS", ["1.0.0"], "1.0", False),  # not a version: no match
    ("SEMVER_EQUALS", ["1.0.0"], None, False),
    ("SEMVER_GREATER_THAN", ["5.2.0"], "5.10.0", True),  # numerically, not as text
    ("SEMVER_GREATER_THAN", ["5.2.0"], "5.2.0", False),
    ("SEMVER_GREATER_THAN", ["5.2.0"], "5.2.1-beta.1", True),
    ("SEMVER_GREATER_THAN", ["5.2.0"], "5.2.0-rc.1", False),  # a pre-release is lower
    ("SEMVER_GREATER_THAN", ["5.2.0"], "v5.3.0", False),  # not a version
    ("SEMVER_GREATER_THAN", ["5.2.0"], "05.3.0", False),  # leading zero: not a version
    ("SEMVER_GREATER_THAN", ["5.2.0"], " 5.3.0", False),
    ("SEMVER_GREATER_THAN", ["5.2.0"], "", False),
    ("SEMVER_GREATER_THAN", ["5.2.0"], "５.３.０", False),  # only ASCII digits
    ("SEMVER_GREATER_THAN", ["9.0.0", "5.2.0"], "6.0.0", True),  # above the smallest
    ("SEMVER_GREATER_THAN", ["5.2.0"], None, False),
    ("SEMVER_LESS_THAN", ["5.2.0"], "5.1.99", True),
    ("SEMVER_LESS_THAN", ["5.2.0"], "5.2.0-alpha", True),
    ("SEMVER_LESS_THAN", ["5.2.0"], "5.2.0+build", False),
    ("SEMVER_LESS_THAN", ["1.0.0", "3.0.0"], "2.0.0", True),  # below the largest
    ("SEMVER_LESS_THAN", ["5.2.0"], "garbage", False),
    ("GREATER_THAN_OR_EQUALS", ["100"], "100", True),
    ("GREATER_THAN_OR_EQUALS", ["100"], "100.0", True),
    ("GREATER_THAN_OR_EQUALS", ["100"], "99.9", False),
    ("GREATER_THAN_OR_EQUALS", ["100", "500"], "100", True),  # from the smallest
    ("GREATER_THAN_OR_EQUALS", ["2026-01-01"], "2026-01-01T00:00:00Z", True),
    ("GREATER_THAN_OR_EQUALS", ["2026-01-01"], "2025-12-31T23:59:59Z", False),
    ("GREATER_THAN_OR_EQUALS", ["100"], "abc", False),
    ("GREATER_THAN_OR_EQUALS", ["100"], None, False),
    ("LESS_THAN_OR_EQUALS", ["100"], "100", True),
    ("LESS_THAN_OR_EQUALS", ["100"], "100.5", False),
    ("LESS_THAN_OR_EQUALS", ["10", "100"], "100", True),  # up to the largest
    ("LESS_THAN_OR_EQUALS", ["2026-06-30T12:00:00Z"], "2026-06-30T13:00:00+01:00", True),
    ("LESS_THAN_OR_EQUALS", ["2026-06-30"], "2026-06-30T00:00:01Z", False),
    ("LESS_THAN_OR_EQUALS", ["100"], "2026-01-01", False),  # other kind
]
