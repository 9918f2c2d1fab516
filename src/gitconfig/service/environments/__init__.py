"""``Environments``: the use-cases across environments of one application — compare two
sides, promote from one environment to another, the provenance of a served value, and a
``set`` of one key in several environments as one commit. One module each; this class is
their one face."""

from __future__ import annotations

from collections.abc import Sequence

from gitconfig.access.principals import Principal
from gitconfig.index.refresher import Index
from gitconfig.index.snapshot import Entry
from gitconfig.service.base import NewConfig
from gitconfig.service.environments.compare import Comparison, Comparisons, Side
from gitconfig.service.environments.multienv import MultiSet, MultiSetter
from gitconfig.service.environments.promote import PromoteResult, Promotion, Promotions
from gitconfig.service.environments.provenance import Provenance, commit_fields, provenance
from gitconfig.service.reads import Reads
from gitconfig.service.secretbox import SecretBox
from gitconfig.service.writer import Writer
from gitconfig.store.ports import Store

__all__ = [
    "Comparison",
    "Environments",
    "MultiSet",
    "PromoteResult",
    "Promotion",
    "Provenance",
    "Side",
    "commit_fields",
]


class Environments:
    """Reads through ``reads`` (and an older side's files through ``store`` and ``index``),
    one commit per change through ``writer``, SECRET values through ``box``."""

    def __init__(
        self, reads: Reads, writer: Writer, box: SecretBox, store: Store, index: Index
    ) -> None:
        self.reads = reads
        self._comparisons = Comparisons(reads, box, store, index)
        self._promotions = Promotions(reads, writer, box)
        self._setter = MultiSetter(reads, writer, box)

    def compare(self, principal: Principal, application: str, old: str, new: str) -> Comparison:
        """See ``Comparisons.compare``."""
        return self._comparisons.compare(principal, application, old, new)

    def promote(self, principal: Principal, promotion: Promotion) -> PromoteResult:
        """See ``Promotions.promote``."""
        return self._promotions.promote(principal, promotion)

    def provenance(self, principal: Principal, entry: Entry) -> Provenance:
        """See ``provenance.provenance``."""
        return provenance(self.reads, principal, entry)

    def set_in(
        self,
        principal: Principal,
        new: NewConfig,
        environments: Sequence[str],
        infer_type: bool = False,
    ) -> MultiSet:
        """See ``MultiSetter.set_in``."""
        return self._setter.set_in(principal, new, environments, infer_type)
