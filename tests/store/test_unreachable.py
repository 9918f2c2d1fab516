"""Only commits a Git host would serve are served: a commit a force push dropped (reachable
from no branch and no tag) is not found by its sha — not as a Spring label, not as a side of
a comparison — and is again once a tag names it; a stream resumed from it is told that the
history was rewritten."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from gitconfig.access.principals import TokenRegistry
from gitconfig.rest.app import create_app
from gitconfig.runtime.bootstrap import open_service
from tests.support.gitrepo import clone, commit_files, git, push, rev_parse
from tests.support.tokens import ADMIN_TOKEN


def test_a_commit_a_force_push_dropped_is_not_served(bare_repo: Path, tmp_path: Path) -> None:
    work = clone(bare_repo, tmp_path / "work")
    commit_files(work, {"configs/shop/DEV/limit.yaml": "type: NUMBER\nvalue: 1\n"}, "one")
    push(work)
    kept = rev_parse(work, "HEAD")
    commit_files(work, {"configs/shop/DEV/limit.yaml": "type: NUMBER\nvalue: 2\n"}, "two")
    push(work)
    dropped = rev_parse(work, "HEAD")
    git(work, "reset", "--hard", kept)
    git(work, "push", "--force", "origin", "main")
    assert rev_parse(bare_repo, "main") == kept
    service = open_service(bare_repo)
    service.index.refresh()
    assert service.store.resolve(dropped) is None
    assert service.store.resolve(dropped[:12]) is None
    assert service.store.resolve(kept) == kept
    tokens = TokenRegistry()
    tokens.add(ADMIN_TOKEN, "admin", ["admin"])
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(create_app(service, tokens), headers=headers) as client:
        assert client.get(f"/spring/shop/dev/{dropped}").status_code == 404
        assert client.get(f"/spring/shop/dev/{kept}").status_code == 200
        compare = {"application": "shop", "from": f"DEV@{dropped}", "to": "DEV"}
        refused = client.get("/configs/compare", params=compare)
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["field"] == "from"
        # A stream resumed from it is told the history was rewritten (start over), not served
        # from it: 412, where an unknown commit is a 400.
        resumed = client.get("/configs/watch", params={"lastEventId": dropped})
        assert resumed.status_code == 412
        unknown = client.get("/configs/watch", params={"lastEventId": "0" * 40})
        assert unknown.status_code == 400
        git(bare_repo, "tag", "old-two", dropped)  # a tag names it: a host serves it again
        assert client.get(f"/spring/shop/dev/{dropped}").status_code == 200
        assert service.store.resolve(dropped) == dropped
