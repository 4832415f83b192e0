"""The interpreter and libraries of a hub's students' environment, when the hub runs on the test machine."""
import os
import shutil
import subprocess
import sys
from pathlib import Path


def shared_site_packages():
    """This venv's site-packages when every user can read it (the students' environment then shares its torch)."""
    torch_dir = __import__("torch").__file__
    site = Path(torch_dir).parents[1]
    probe = subprocess.run(["runuser", "-u", "nobody", "--", "test", "-r", torch_dir])
    return str(site) if probe.returncode == 0 else None


def runnable_python(dest):
    """A Python 3.11 every user can run and the pinned packages work on: Debian's when it is recent enough, else a copy
    of the one running the tests (its base installation, say pyenv's under /root, is out of other users' reach), with
    its interpreter's library path made relative (patchelf)."""
    debian = "/usr/bin/python3.11"
    check = f"import sys; sys.path.append({shared_site_packages()!r}); import soupsieve; soupsieve.compile('img')"
    probe = os.path.exists(debian) and subprocess.run([debian, "-c", check], capture_output=True)
    if probe and probe.returncode == 0:
        return debian
    base, version = Path(sys.base_prefix), f"python{sys.version_info.major}.{sys.version_info.minor}"
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(base / "bin" / version, dest / "bin" / version)
    shutil.copytree(base / "lib" / version, dest / "lib" / version, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "test", "__pycache__"))
    for library in (base / "lib").glob("libpython*.so*"):
        shutil.copy2(library, dest / "lib" / library.name, follow_symlinks=False)
    subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", str(dest / "bin" / version)], check=True)
    (dest / "lib" / version / "site-packages").mkdir()
    for folder, dirs, files in os.walk(dest):
        os.chmod(folder, 0o755)
    return str(dest / "bin" / version)
