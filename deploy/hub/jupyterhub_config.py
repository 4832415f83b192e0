"""JupyterHub for one course on one machine, provisioned by deploy/hub/provision.py (`make hub` starts it).

Reads /etc/jupyterhub/<course>.json (HUB_COURSE: the course, default vi-stars; HUB_SETTINGS: another file). Each
person logs in with their Unix account (PAM, JupyterHub's default authenticator) and gets their own JupyterLab,
started as their Unix user in their home folder, in the course's environment. The formgrader is a hub service
(named after the course, as nbgrader's guide has it) running as the instructor in the course directory, open to the
instructor and the graders (hub group formgrade-<course>) only; students' servers have no formgrader. The proxy is
npm's configurable-http-proxy, pinned in deploy/hub/package.json (`npm ci` in deploy/hub installs it).

HUB_IP / HUB_PORT: where the hub listens (default all interfaces, 8000; put TLS in front, or set
c.JupyterHub.ssl_cert/ssl_key, before real passwords cross a network).
"""
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by JupyterHub)

HERE = Path(__file__).resolve().parent
COURSE = os.environ.get("HUB_COURSE", "vi-stars")
settings = json.loads(Path(os.environ.get("HUB_SETTINGS", f"/etc/jupyterhub/{COURSE}.json")).read_text())
env_bin = Path(settings["environment"]) / "bin"
python = str(env_bin / "python")
state = Path(settings["state"])
state.mkdir(parents=True, exist_ok=True)
os.chmod(state, 0o700)  # the hub's database and cookie secret: root's only

c.JupyterHub.bind_url = f"http://{os.environ.get('HUB_IP', '')}:{os.environ.get('HUB_PORT', '8000')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('HUB_PROXY_API_PORT', '8001')}"
c.JupyterHub.hub_port = int(os.environ.get("HUB_API_PORT", "8081"))

# Who may log in: the roster. PAM checks their Unix password; no account is created on login.
c.Authenticator.allowed_users = set(settings["graders"]) | set(settings["students"])
c.LocalAuthenticator.create_system_users = False
c.JupyterHub.load_groups = {f"{COURSE}-students": {"users": settings["students"]}}

# Each user's JupyterLab, as their Unix user (LocalProcessSpawner, the default spawner when the hub runs as root).
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.env_keep = ["LANG", "LC_ALL"]  # nothing of the hub's own venv
c.Spawner.environment = {"PATH": f"{env_bin}:/usr/local/bin:/usr/bin:/bin",
                         "JUPYTER_CONFIG_PATH": settings["jupyter_config"]}  # the course's exchange
c.Spawner.http_timeout = 120  # a server's first start imports torch; on a loaded machine that takes a while
c.Spawner.start_timeout = 180


def student_settings(spawner):
    """Students' servers read the student configuration (no formgrader, no assignment editor, no course list)."""
    if spawner.user.name in settings["students"]:
        spawner.environment = dict(spawner.environment, JUPYTER_CONFIG_PATH=os.pathsep.join(
            [settings["student_config"], settings["jupyter_config"]]))


c.Spawner.pre_spawn_hook = student_settings

# The formgrader: nbgrader's shared formgrader for JupyterHub (its demo_one_class_multiple_graders), run as the
# instructor in the course directory, so that graders grade the one gradebook without reading the directory. nbgrader's
# names: the service is named after the course, and its graders' hub group is formgrade-<course>; the graders' Course
# List finds the formgrader by them (that extension reads the hub's API with the server's token: the `server` role).
c.JupyterHub.load_groups[f"formgrade-{COURSE}"] = {"users": settings["graders"]}
c.JupyterHub.services = [{
    "name": COURSE,
    "url": f"http://127.0.0.1:{os.environ.get('HUB_FORMGRADER_PORT', '9999')}",
    "command": [python, "-m", "jupyterhub.singleuser", f"--ServerApp.root_dir={settings['course_dir']}"],
    "user": settings["instructor"],
    "cwd": settings["course_dir"],
    "environment": dict(c.Spawner.environment, JUPYTERHUB_DEFAULT_URL="/formgrader"),
    "oauth_no_confirm": True,
}]
c.JupyterHub.load_roles = [
    {"name": f"formgrade-{COURSE}", "description": "open the course's formgrader", "groups": [f"formgrade-{COURSE}"],
     "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"]},
    {"name": "server", "scopes": ["inherit"]},
]
