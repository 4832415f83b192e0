"""A JupyterLab server for browser tests, started as an instructor or a student starts it, and Debian's chromium.

Playwright's Python package drives /usr/bin/chromium (never `playwright install`); see ../shared/FIELD_NOTES.md.
"""
import contextlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from grading.submissions import venv_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(home, settings=None):
    """The server's environment: the venv first on PATH, JupyterLab's settings and state in `home`, and so is
    matplotlib's font cache (a cache left by another installation would only warn on stderr)."""
    return dict(venv_env(), JUPYTERLAB_SETTINGS_DIR=str(settings or home / "settings"),
                JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                JUPYTER_CONFIG_DIR=str(home / "config"), MPLCONFIGDIR=str(home / "matplotlib"))


@contextlib.contextmanager
def server(root, home, settings=None):
    """JupyterLab on 127.0.0.1 serving `root`, with a token; yields (base URL, token). `home` holds its state;
    `settings`: a JUPYTERLAB_SETTINGS_DIR of the test's own (default: an empty one in `home`)."""
    env = environment(home, settings)
    port, token = free_port(), secrets.token_hex(16)
    log = open(home / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", f"--IdentityProvider.token={token}",
         "--ServerApp.ip=127.0.0.1", "--allow-root", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start: " + (home / "server.log").read_text()[-2000:])
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
