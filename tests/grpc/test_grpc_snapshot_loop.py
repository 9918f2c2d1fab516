"""``GetSnapshot`` reads off the event loop: a snapshot may run sops once per SECRET the
caller may reveal, and on the loop that stalled every other call and stream of the server."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import grpc

from gitconfig.access.principals import TokenRegistry
from gitconfig.grpc.v1 import config_pb2, config_pb2_grpc
from gitconfig.index.refresher import Index
from gitconfig.service import build_service
from gitconfig.service.streams import Streams
from gitconfig.store.gitstore import GitStore
from gitconfig.store.secrets import Sops
from tests.support.gitrepo import clone, commit_files, push
from tests.support.servers import GrpcServerThread
from tests.support.tokens import ADMIN_TOKEN


class _LoopWatchingStreams(Streams):
    """Records, per ``read_scope`` call, whether it ran on an event loop's thread."""

    def __init__(self, streams: Streams) -> None:
        super().__init__(streams.reads, streams.box, streams.changes, streams.store)
        self.on_loop: list[bool] = []

    def read_scope(self, *args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            self.on_loop.append(True)
        except RuntimeError:
            self.on_loop.append(False)
        return super().read_scope(*args, **kwargs)


def test_get_snapshot_reads_off_the_event_loop(bare_repo: Path, tmp_path: Path) -> None:
    work = clone(bare_repo, tmp_path / "work")
    commit_files(work, {"configs/shop/PROD/a.yaml": "type: STRING\nvalue: x\n"}, "one value")
    push(work)
    store = GitStore(bare_repo)
    built = build_service(store, Index(store), Sops())
    streams = _LoopWatchingStreams(built.streams)
    service = dataclasses.replace(built, streams=streams)
    service.index.refresh()
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    request = config_pb2.GetSnapshotRequest(application="shop", environment="PROD")
    metadata = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    with (
        GrpcServerThread(service, tokens) as running,
        grpc.insecure_channel(running.address) as channel,
    ):
        stub = config_pb2_grpc.ConfigurationServiceStub(channel)
        assert len(stub.GetSnapshot(request, metadata=metadata).entries) == 1
    assert streams.on_loop == [False]
