"""What the browser tests share: Debian's Chromium and its flags, one `jupyter lab` server with its
own HOME, Jupyter dirs, token and port, and a check of what a notebook on disk holds."""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from course.release import nbgrader_env

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """One `jupyter lab` process: its own HOME and Jupyter dirs, token, port, root (= its cwd)."""

    def __init__(self, name: str, root: Path, home: Path):
        self.name, self.root, self.home = name, root, home
        self.log_path = home.parent / f"{name}_lab.log"
        self.token, self.port = secrets.token_hex(16), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        env = nbgrader_env(self.home)
        env.pop("COURSE_WIDGETS", None)
        # every cell stays rendered (see test_browser.py): cells scrolled away stay clickable
        settings = self.home / "lab-settings"
        (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True, exist_ok=True)
        (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
         ).write_text('{"windowingMode": "none"}')
        # no "get notified about Jupyter news?" toast over the page
        (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True, exist_ok=True)
        (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
         ).write_text('{"fetchNews": "false", "checkForUpdates": false}')
        env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
             f"--port={self.port}", "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", "--ServerApp.open_browser=False",
             "--LabApp.news_url=",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
            + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
            cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, seconds=180):
        deadline = time.time() + seconds
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=5)
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"the {self.name}'s jupyter lab did not start:\n"
                                       + self.log_tail())
                time.sleep(0.5)

    def url(self, path="lab"):
        return f"{self.base}/{path}?reset&token={self.token}"

    def log_tail(self, chars=4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def saved(path: Path, answers: list[str]) -> bool:
    """Whether the notebook on disk holds every answer as one of its cells."""
    try:
        cells = {"".join(c["source"]).strip() for c in json.loads(path.read_text())["cells"]}
    except (OSError, ValueError, KeyError):    # not there yet, or caught mid-write
        return False
    return all(code.strip() in cells for code in answers)
