"""``make run``: serve example-repo/ from a bare repository made from it on first run.

    python -m gitconfig.runtime.demo --source example-repo --workdir .demo

The first run copies every file of the source folder into one commit of
``<workdir>/config.git`` (a bare repository you can clone and push to); later runs serve that
repository as it is, keeping what you changed.

SECRET values: the demo makes a throwaway age key, ``<workdir>/age-key.txt`` (never use it for
anything real), commits a ``.sops.yaml`` whose rules name its public key for every
environment, and serves with ``SOPS_AGE_KEY_FILE`` pointing at it (unless already set).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pyrage

from gitconfig.core.model import Author
from gitconfig.runtime import bootstrap
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
    store.write(store.head(), files, DEMO_AUTHOR, "Import example-repo")


DEMO_AUTHOR = Author("gitconfig demo", "demo@localhost")
KEY_FILE = "age-key.txt"


def demo_key(workdir: Path) -> str:
    """The public key of the demo's throwaway age identity, made on first use."""
    path = workdir / KEY_FILE
    if not path.exists():
        identity = pyrage.x25519.Identity.generate()
        path.write_text(
            "# gitconfig demo: a THROWAWAY age key for SECRET values; never use it for real\n"
            f"# public key: {identity.to_public()}\n{identity}\n"
        )
        path.chmod(0o600)
    for line in path.read_text().splitlines():
        if line.startswith("AGE-SECRET-KEY-"):
            return str(pyrage.x25519.Identity.from_str(line.strip()).to_public())
    raise SystemExit(f"{path} holds no age identity: remove it to make a new one")


def use_demo_key(workdir: Path, repo: Path) -> None:
    """Commit a ``.sops.yaml`` for the demo key unless the repository's already names it."""
    recipient = demo_key(workdir)
    store = GitStore(repo)
    head = store.head()
    current = store.read_file(head, ".sops.yaml") if head else None
    if current is None or recipient.encode() not in current:
        text = bootstrap.sops_rules(recipient, "the gitconfig demo's throwaway key")
        store.write(head, {".sops.yaml": text.encode()}, DEMO_AUTHOR, "Demo: age key for SECRETs")
    os.environ.setdefault("SOPS_AGE_KEY_FILE", str((workdir / KEY_FILE).resolve()))


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
    use_demo_key(args.workdir, repo)
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
  # a SECRET: encrypted in Git with the demo's age key ({args.workdir}/{KEY_FILE}), masked
  curl -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\
    {base}/configs -d '{{"key": "db-password", "application": "pricing",
    "environment": "DEV", "valueType": "SECRET", "value": "s3cr3t-demo"}}'
  curl -H 'Authorization: Bearer {token}' \\
    '{base}/configs/lookup?application=pricing&environment=DEV&key=db-password&reveal=true'
  git clone {repo.resolve()} my-config    # edit, commit, git push: served within a second

Stop with Ctrl-C.
""",
        flush=True,
    )
    return serve(ServeOptions(repo=repo, http_port=args.http_port, grpc_port=args.grpc_port))


if __name__ == "__main__":
    raise SystemExit(main())
