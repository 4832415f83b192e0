"""What one machine holds: N students' servers started at once through the hub, their memory idle and at work.

    python deploy/hub/measure.py N [--work]        (as root, on a machine with nothing else on the hub)

Provisions N throw-away students (`m20s1` ... `m20sN`, removed afterwards) and one instructor with
deploy/hub/provision.py in a temporary folder, starts the hub on 127.0.0.1 (tests/hub_config.py: the test-only
authenticator), asks it through its REST API to start every student's server at once, and prints the hub's
start-up time, the seconds until all N answer, and the resident memory (RSS, summed over each student's
processes) of an idle server. --work also runs the answered notebook in one student's kernel (the whole of
vi_stars, as Validate does) and prints the peak RSS of that student's processes meanwhile, and its wall time.
"""
import argparse
import csv
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from hub_python import runnable_python  # noqa: E402
from lab_server import free_port  # noqa: E402

PREFIX, INSTRUCTOR = "m20s", "m20teach"


def rss_mib(user):
    """Resident memory of every process of `user`, MiB."""
    out = subprocess.run(["ps", "-u", user, "-o", "rss="], capture_output=True, text=True).stdout
    return sum(int(x) for x in out.split()) / 1024


def api(base, token, method, path, body=None):
    request = urllib.request.Request(f"{base}/hub/api{path}", method=method, headers={"Authorization": f"token {token}"},
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def remove(users):
    for user in users:
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
    time.sleep(0.5)
    for user in users:
        subprocess.run(["userdel", "-r", user], capture_output=True)
    for group in ("vi-stars-graders", "vi-stars-students"):
        subprocess.run(["groupdel", group], capture_output=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="how many students' servers to start at once (1 or more)")
    parser.add_argument("--work", action="store_true", help="also run the whole notebook in one student's kernel")
    args = parser.parse_args()
    if args.n < 1:
        raise SystemExit(f"n must be 1 or more, not {args.n}")
    if os.geteuid() != 0:
        raise SystemExit("measure.py creates users and starts servers as them: run it as root")
    students = [f"{PREFIX}{i}" for i in range(1, args.n + 1)]
    srv = Path(tempfile.mkdtemp(prefix="hub-measure-", dir="/tmp"))
    os.chmod(srv, 0o755)
    with open(srv / "roster.csv", "w", newline="") as f:
        csv.writer(f).writerows([("username", "role"), (INSTRUCTOR, "instructor"), *((s, "student") for s in students)])
    site = str(Path(__import__("torch").__file__).parents[1])
    token, process = secrets.token_hex(16), None
    try:
        subprocess.run([sys.executable, str(ROOT / "deploy" / "hub" / "provision.py"), str(srv / "roster.csv"),
                        "--srv", str(srv), "--settings", str(srv / "hub.json"), "--share-packages-from", site,
                        "--python", runnable_python(srv / "python")],
                       check=True, capture_output=True)
        # the test hub, plus a service whose token may start and stop servers
        (srv / "measure_config.py").write_text(
            f"c = get_config()\nload_subconfig({str(ROOT / 'tests' / 'hub_config.py')!r})\n"
            f"c.JupyterHub.services.append({{'name': 'measure', 'api_token': {token!r}}})\n"
            "c.JupyterHub.load_roles.append({'name': 'measure', 'services': ['measure'], "
            "'scopes': ['admin:servers', 'admin:users']})\n")
        port = free_port()
        env = dict(os.environ, HUB_SETTINGS=str(srv / "hub.json"), HUB_IP="127.0.0.1", HUB_PORT=str(port),
                   HUB_PROXY_API_PORT=str(free_port()), HUB_API_PORT=str(free_port()),
                   HUB_FORMGRADER_PORT=str(free_port()), HUB_TEST_PASSWORD=secrets.token_hex(8),
                   PATH=f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin")
        log = open(srv / "hub.log", "w")
        started = time.time()
        process = subprocess.Popen([str(Path(sys.prefix) / "bin" / "jupyterhub"), "-f", str(srv / "measure_config.py")],
                                   cwd=srv, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        while True:
            try:
                api(base, token, "GET", "/")
                break
            except OSError:
                if time.time() - started > 120:
                    raise SystemExit("the hub did not start: " + (srv / "hub.log").read_text()[-3000:])
                time.sleep(0.1)
        print(f"hub start-up: {time.time() - started:.1f} s")
        started = time.time()
        for student in students:
            api(base, token, "POST", f"/users/{student}/server")
        ready = set()
        while len(ready) < len(students) and time.time() - started < 600:
            for student in set(students) - ready:
                user = json.loads(api(base, token, "GET", f"/users/{student}")[1])
                if user["servers"].get("", {}).get("ready"):
                    ready.add(student)
            time.sleep(0.5)
        print(f"{len(ready)} of {len(students)} servers ready {time.time() - started:.1f} s after all were asked for")
        time.sleep(5)  # settled
        idle = [rss_mib(s) for s in students]
        print(f"idle server RSS: median {sorted(idle)[len(idle) // 2]:.0f} MiB, max {max(idle):.0f} MiB, "
              f"all {args.n}: {sum(idle):.0f} MiB")
        if args.work:
            work(students[0], srv)
    finally:
        if process:
            subprocess.run(["pkill", "-TERM", "-u", INSTRUCTOR], capture_output=True)
            for s in students:
                subprocess.run(["pkill", "-TERM", "-u", s], capture_output=True)
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        remove([INSTRUCTOR, *students])
        shutil.rmtree(srv, ignore_errors=True)


def work(student, srv):
    """Run the answered notebook as `student` with the students' environment, sampling their processes' RSS."""
    from grading.submissions import answered
    import nbformat

    settings = json.loads((srv / "hub.json").read_text())
    home = Path(pwd.getpwnam(student).pw_dir)
    nbformat.write(answered(), home / "work.ipynb")
    shutil.chown(home / "work.ipynb", student, student)
    peak, done = [0.0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mib(student))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.time()
    subprocess.run(["runuser", "-u", student, "--", "env", "-i", f"HOME={home}",
                    f"PATH={settings['environment']}/bin:/usr/bin:/bin", "jupyter", "nbconvert", "--to", "notebook",
                    "--execute", "--ExecutePreprocessor.timeout=300", "--output", "worked", "work.ipynb"],
                   cwd=home, check=True, capture_output=True)
    done.set()
    sampler.join()
    print(f"working student (idle server + the whole notebook run in a kernel): peak RSS {peak[0]:.0f} MiB, "
          f"{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
