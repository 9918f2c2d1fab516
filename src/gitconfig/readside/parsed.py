"""The index's parsed blobs: documents (or their validation errors) by kind and blob id.

Content-addressed, so never stale. The index builds every snapshot from it (``Index._parsed``,
filled by a cold build's worker too: ``index.prefetch``); it is here with the others because
it is the same kind of thing, and this package imports nothing but ``core``, so the index
may hold it.
"""

from __future__ import annotations

from gitconfig.core.model import Document, Kind
from gitconfig.readside.bounded import Bounded

Parsed = Document | list[str]  # a document, or the errors of a file that does not validate


class ParsedBlobs(dict[Kind, Bounded[str, Parsed]]):
    """One bounded map per kind, by blob id (no key tuple per blob)."""

    __slots__ = ()
    LIMIT = 250_000  # per kind: more than the files of the largest repository measured

    def __init__(self, limit: int = LIMIT) -> None:
        super().__init__({kind: Bounded[str, Parsed](limit) for kind in Kind})
