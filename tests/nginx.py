"""A real nginx on loopback for the tests: the shipped configuration
(examples/nginx-phananh.conf) with only its addresses and paths changed, in
a temporary folder, on free ports, with a certificate made for the run.

nginx comes from the machine's Debian packages.  When it is missing and we
may install it (root, apt-get), the set-up installs it once per run
(``apt-get update``, then ``apt-get install -y nginx``); otherwise the tests
that need it skip with one clear line — and fail under ``CI=true``, like
PostgreSQL (tests/engines.py).  As root, nginx runs as the unprivileged
user ``nobody`` in a folder that account owns; it is stopped (by its own
process id) and the folder removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "nginx-phananh.conf"
DEBIAN_NGINX = Path("/usr/sbin/nginx")
SERVER_USER = "nobody"
MISSING = "nginx not found (apt-get install nginx): the tests behind nginx are skipped"
START_TIMEOUT = 20.0
HOST = "phananh.example.vn"


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def find_nginx() -> Path | None:
    on_path = shutil.which("nginx")
    if on_path:
        return Path(on_path)
    return DEBIAN_NGINX if DEBIAN_NGINX.is_file() else None


def _install() -> None:
    """apt-get update once, then install nginx (root only; quietly, its
    service is not started: Debian's images deny that, and so do we)."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "nginx"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            return


def nginx_or_skip() -> Path:
    """nginx, installed first if it is missing and we may; else a skip (a
    failure under CI=true)."""
    found = find_nginx()
    if found is None:
        _install()
        found = find_nginx()
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {MISSING.split(':')[0]}: CI must test behind nginx")
        pytest.skip(MISSING)
    if shutil.which("openssl") is None:
        pytest.skip("openssl not found: no certificate for the tests behind nginx")
    return found


def example_for(upstreams: list[int], https: int, http: int, certs: Path) -> str:
    """The shipped configuration, pointed at these ports and this certificate (fewer
    processes than it names: the surplus upstream lines left out)."""
    text = EXAMPLE.read_text()
    shipped = re.findall(r"server 127\.0\.0\.1:(\d+)", text)
    assert 0 < len(upstreams) <= len(shipped), "one upstream line per bot process"
    for n, port in enumerate(shipped):
        line = re.search(rf"\n *server 127\.0\.0\.1:{port} [^\n]*", text)
        assert line is not None
        ours = line.group().replace(f":{port} ", f":{upstreams[n]} ") if n < len(upstreams) else ""
        text = text.replace(line.group(), ours)
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;")
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http};")
    text = text.replace(f"/etc/letsencrypt/live/{HOST}/", f"{certs}/")
    text = text.replace("/var/www/letsencrypt", str(certs))
    return text


@dataclass
class Nginx:
    folder: Path
    https: int
    process: subprocess.Popen[bytes]

    @property
    def certificate(self) -> Path:
        """What a client trusts to reach it (the certificate made for the run)."""
        return self.folder / "fullchain.pem"

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.https}{path}"

    def error_log(self) -> str:
        log = self.folder / "error.log"
        return log.read_text(errors="replace") if log.exists() else ""


def _certificate(folder: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(folder / "privkey.pem"),
            "-out",
            str(folder / "fullchain.pem"),
        ],
        capture_output=True,
        check=True,
    )


def _main_config(folder: Path, site: str) -> Path:
    (folder / "phananh.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"worker_processes 1;\n"
        f"error_log {folder / 'error.log'} warn;\n"
        f"pid {folder / 'nginx.pid'};\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    access_log off;\n"
        f"{temp}\n"
        f"    include {folder / 'phananh.conf'};\n"
        "}\n"
    )
    return main


def _wait_listening(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    """Until nginx accepts connections (or has exited: its log says why)."""
    import time

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (folder / "error.log").read_text(errors="replace")
            raise RuntimeError(f"nginx exited at start:\n{log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port} within {START_TIMEOUT}s")


@contextlib.contextmanager
def running_nginx(binary: Path, upstreams: list[int]) -> Iterator[Nginx]:
    """nginx with the shipped configuration in front of ``upstreams``, for the block."""
    folder = Path(tempfile.mkdtemp(prefix="phananh-nginx-"))
    as_user = SERVER_USER if os.geteuid() == 0 else None
    process: subprocess.Popen[bytes] | None = None
    try:
        _certificate(folder)
        https, http = free_port(), free_port()
        main = _main_config(folder, example_for(upstreams, https, http, folder))
        command = [str(binary), "-p", str(folder), "-c", str(main), "-e", str(folder / "error.log")]
        command += ["-g", "daemon off;"]
        if as_user is None:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        else:
            entry = pwd.getpwnam(as_user)
            for path in [folder, *folder.iterdir()]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                user=entry.pw_uid,
                group=entry.pw_gid,
                extra_groups=[],
            )
        _wait_listening(https, process, folder)
        yield Nginx(folder, https, process)
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # nginx stops its worker, then itself
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
