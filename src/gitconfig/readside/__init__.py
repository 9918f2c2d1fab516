"""The read side's caches: every answer kept between reads, in one place, on one helper.

The index's values (``Entry``, ``Snapshot``, compiled flags, stream ``Update``) are plain
immutable data. What the doors make of them — response bytes, messages, a flag's check with
its answers made in advance, the checks a principal was allowed — is kept here, each cache a
small named class with its bound, each a ``Bounded`` map (``bounded``: a dict emptied when
full; ``docs/decisions.md`` says why not an LRU).

Keys are immutable things, so a value never goes stale:

- ``EntryChecks``, ``Renderings``, ``EvaluationRenderings``: by the entry itself (its
  identity), with a name or an evaluation's identity; held until the map is emptied.
- ``FlagChecks`` (by snapshot commit, principal serial, application, environment, key) and
  ``SortedEntries`` (by snapshot commit and filter): emptied whenever the index moves.
- ``ParsedQueries``, ``OfrepContexts``: by request text; ``SpringAnswers``,
  ``MergedCommits``: by commits (and request values); ``StreamUpdates``: by commit, path
  and audience; ``UpdateMessages``: by an update's identity; ``ParsedBlobs``: by kind and
  blob id. Each held until its map is emptied.

An entry or snapshot that leaves the index is therefore kept at most until its map is
emptied (the per-snapshot ones at the latest when the index moves), never for good. Nothing
here is referred to by what it keeps, so no reference cycle is made: an entry is freed by its
reference count alone, which matters because the server freezes its first heap
(``gc.freeze`` in ``runtime.server``: the collector never looks at frozen objects).

This package imports only ``core``: the index (its parse cache, the change hub), the
service and the transports all hold caches from it. Its caches are owned by the objects that
use them (no module-level instance), and are thread-safe as ``Bounded`` is.
"""

from gitconfig.readside.bounded import Bounded
from gitconfig.readside.entries import Check, EntryChecks, EvaluationRenderings, Renderings
from gitconfig.readside.parsed import Parsed, ParsedBlobs
from gitconfig.readside.requests import MergedCommits, OfrepContexts, ParsedQueries, SpringAnswers
from gitconfig.readside.snapshots import CheckKey, FlagChecks, SortedEntries
from gitconfig.readside.streams import StreamUpdates, UpdateMessages

__all__ = [
    "Bounded",
    "Check",
    "CheckKey",
    "EntryChecks",
    "EvaluationRenderings",
    "FlagChecks",
    "MergedCommits",
    "OfrepContexts",
    "Parsed",
    "ParsedBlobs",
    "ParsedQueries",
    "Renderings",
    "SortedEntries",
    "SpringAnswers",
    "StreamUpdates",
    "UpdateMessages",
]
