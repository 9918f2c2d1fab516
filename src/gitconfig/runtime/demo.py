"""``make run``: serve example-repo/ from a bare repository made from it on first run.

    python -m gitconfig.runtime.demo --source example-repo --workdir .demo

The first run copies every file of the source folder into one commit of
``<workdir>/config.git`` (a bare repository you can clone and push to); later runs serve that
repository as it is, keeping what you changed.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gitconfig.core.model import Author
from gitconfig.runtime.bootstrap import init_repository
from gitconfig.runtime.server import ServeOptions, serve
from gitconfig.store.gitstore import GitStore


def seed(source: Path, target: Path) -> None:
    init_repository(target, bare=True)
    store = GitStore(target)
    files = {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file()
    }
    store.write(
        store.head(), files, Author("gitconfig demo", "demo@localhost"), "Import example-repo"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("example-repo"))
    parser.add_argument("--workdir", type=Path, default=Path(".demo"))
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument("--grpc-port", type=int, default=9090)
    args = parser.parse_args()

    repo = args.workdir / "config.git"
    if not repo.exists():
        args.workdir.mkdir(parents=True, exist_ok=True)
        seed(args.source, repo)
        print(f"Created {repo} from {args.source}/")
    token = os.environ.get("GITCONFIG_ADMIN_TOKEN", "")
    if not token:
        token = os.environ["GITCONFIG_ADMIN_TOKEN"] = "dev-admin-token"
    base = f"http://127.0.0.1:{args.http_port}"
    print(
        f"""
gitconfig is serving {repo} (branch main)
  REST  {base}   (API docs: {base}/docs)
  gRPC  127.0.0.1:{args.grpc_port}
  token {token}

Try:
  curl -H 'Authorization: Bearer {token}' \\
    '{base}/configs/lookup?application=trading-engine&environment=PROD&key=max-order-size'
  curl -H 'Authorization: Bearer {token}' '{base}/configs?application=pricing'
  git clone {repo.resolve()} my-config    # edit, commit, git push: served within a second

Stop with Ctrl-C.
""",
        flush=True,
    )
    return serve(ServeOptions(repo=repo, http_port=args.http_port, grpc_port=args.grpc_port))


if __name__ == "__main__":
    raise SystemExit(main())
