"""Real Git servers on 127.0.0.1 for the replica tests, each a child process of the test.

    with GitDaemon(root) as daemon:           # git daemon --enable=receive-pack
        url = daemon.url("origin.git")        # git://127.0.0.1:<port>/origin.git
    with SmartHttp(root, "bob", "s3cret") as web:   # nginx + fcgiwrap + git http-backend
        url = web.url("origin.git")           # http://127.0.0.1:<port>/origin.git (basic auth)
    with SshServer(root) as ssh:              # sshd, a key pair, a known_hosts file
        url = ssh.url("origin.git")           # ssh://<user>@127.0.0.1:<port>/<root>/origin.git

Each can be stopped and started again on the same port (``stop()``/``start()``), to play a
remote that goes away and comes back. ``require(*programs)`` skips a test whose server
programs are missing (``.ci/run`` installs them, so CI never skips).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

GIT_CORE = Path("/usr/lib/git-core")
START_TIMEOUT = 10.0  # seconds for a server to accept connections


def program(name: str) -> str | None:
    """The path of an installed program (also in /usr/sbin, which a user's PATH may lack)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    return found or (name if Path(name).is_absolute() and Path(name).exists() else None)


def require(*programs: str) -> list[str]:
    """The programs' paths; skips the test when one is missing."""
    found = [program(p) for p in programs]
    missing = [p for p, path in zip(programs, found, strict=True) if path is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (.ci/install-test-servers.sh installs them)")
    return [path for path in found if path is not None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path | None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            detail = log.read_text() if log is not None and log.exists() else ""
            raise RuntimeError(f"{process.args!r} exited {process.returncode}: {detail}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port} after {START_TIMEOUT}s")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class _Server:
    port: int

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()


class GitDaemon(_Server):
    """``git daemon`` exporting every repository under ``root``, pushes allowed."""

    def __init__(self, root: Path) -> None:
        require(str(GIT_CORE / "git-daemon"))
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root.parent / f"git-daemon-{self.port}.log"

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        args = [
            "git",
            "daemon",
            "--reuseaddr",
            "--listen=127.0.0.1",
            f"--port={self.port}",
            f"--base-path={self.root}",
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
            str(self.root),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=log)
        wait_listening(self.port, self.process, self.log)

    def stop(self) -> None:
        stop_process(self.process)


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    fastcgi_temp_path {tmp}/fastcgi;
    proxy_temp_path {tmp}/proxy;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            auth_basic "git";
            auth_basic_user_file {tmp}/htpasswd;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {git_core}/git-http-backend;
            fastcgi_param GIT_PROJECT_ROOT {root};
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO $uri;
            fastcgi_param REMOTE_USER $remote_user;
            fastcgi_pass unix:{tmp}/fcgiwrap.sock;
        }}
    }}
}}
"""


class SmartHttp(_Server):
    """nginx (a non-daemon child, temp config) in front of ``git http-backend`` run by
    fcgiwrap, with HTTP basic auth for ``user``/``password`` on every request."""

    def __init__(self, root: Path, user: str, password: str) -> None:
        self.nginx_bin, self.fcgiwrap_bin, _ = require(
            "nginx", "fcgiwrap", str(GIT_CORE / "git-http-backend")
        )
        self.root = root
        self.port = free_port()
        self.tmp = root.parent / f"nginx-{self.port}"
        self.tmp.mkdir()
        (self.tmp / "htpasswd").write_text(f"{user}:{{PLAIN}}{password}\n")
        self.nginx: subprocess.Popen[bytes] | None = None
        self.fcgiwrap: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(tmp=self.tmp, port=self.port, root=self.root, git_core=GIT_CORE)
        )
        sock = self.tmp / "fcgiwrap.sock"
        sock.unlink(missing_ok=True)
        log = self.tmp / "fcgiwrap.log"
        with log.open("ab") as out:
            self.fcgiwrap = subprocess.Popen(
                [self.fcgiwrap_bin, "-c", "4", "-s", f"unix:{sock}"], stdout=out, stderr=out
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        error_log = self.tmp / "error.log"
        self.nginx = subprocess.Popen(
            [self.nginx_bin, "-p", str(self.tmp), "-e", str(error_log), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_listening(self.port, self.nginx, error_log)

    def stop(self) -> None:
        stop_process(self.nginx)
        stop_process(self.fcgiwrap)


SSHD_CONFIG = """
Port {port}
ListenAddress 127.0.0.1
HostKey {tmp}/host_key
PidFile {tmp}/sshd.pid
AuthorizedKeysFile {tmp}/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
AllowTcpForwarding no
"""


class SshServer(_Server):
    """OpenSSH's sshd on 127.0.0.1 (its own host key and config) letting ``client_key`` in as
    the current user; git runs over it as it does on any SSH Git host. ``ssh_command`` trusts
    this server's host key only (for GIT_SSH_COMMAND)."""

    def __init__(self, root: Path) -> None:
        self.sshd, keygen = require("sshd", "ssh-keygen")
        self.root = root
        self.port = free_port()
        self.tmp = root.parent / f"sshd-{self.port}"
        self.tmp.mkdir()
        for name in ("host_key", "client_key"):
            subprocess.run(
                [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(self.tmp / name)], check=True
            )
        self.client_key = self.tmp / "client_key"
        (self.tmp / "authorized_keys").write_text((self.tmp / "client_key.pub").read_text())
        host_key = " ".join((self.tmp / "host_key.pub").read_text().split()[:2])
        (self.tmp / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_key}\n")
        (self.tmp / "sshd_config").write_text(SSHD_CONFIG.format(port=self.port, tmp=self.tmp))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def ssh_command(self) -> str:
        return f"ssh -o UserKnownHostsFile={self.tmp}/known_hosts -o StrictHostKeyChecking=yes"

    def url(self, name: str) -> str:
        return f"ssh://{getpass.getuser()}@127.0.0.1:{self.port}{self.root}/{name}"

    def start(self) -> None:
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
        log = self.tmp / "sshd.log"
        args = [self.sshd, "-D", "-f", str(self.tmp / "sshd_config"), "-E", str(log)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.process, log)

    def stop(self) -> None:
        stop_process(self.process)


class HungHost:
    """A Git host that hangs: a TCP server on 127.0.0.1 that accepts every connection and
    never answers (until ``close()``). ``url(name)`` in any scheme that speaks over TCP.

    with HungHost() as hung:
        url = hung.url("origin.git", "git")       # git://127.0.0.1:<port>/origin.git
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # accept() wakes to see close()
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="hung-host", daemon=True)
        self._thread.start()

    def url(self, name: str, scheme: str = "git") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{name}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            self._held.append(connection)  # held open, never read nor answered

    def connected(self) -> int:
        """How many accepted connections the other end still holds open."""
        return sum(_still_open(connection) for connection in list(self._held))

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self._listener.close()
        for connection in self._held:
            connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _still_open(connection: socket.socket) -> bool:
    """Whether the other end of ``connection`` has not closed it (what it sent is read and
    dropped: a hung host never answers)."""
    connection.setblocking(False)
    try:
        while connection.recv(65536):
            pass
    except BlockingIOError:  # open, nothing more sent
        return True
    except OSError:  # reset
        return False
    return False  # end of file
