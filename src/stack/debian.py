"""Tools that come from Debian's packages (Prometheus, wrk), installed when missing."""

from __future__ import annotations

import os
import shutil
import subprocess

from src.stack.locking import file_lock
from src.stack.paths import cache_dir


class PackageUnavailable(RuntimeError):
    pass


_updated = False


def ensure_binaries(package: str, *binaries: str) -> list[str]:
    """Paths of `binaries`, installing Debian's `package` first if one is missing (needs root)."""
    global _updated
    found = [shutil.which(b) for b in binaries]
    if all(found):
        return [f for f in found if f]
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise PackageUnavailable(f"{', '.join(binaries)} missing; install them with: sudo apt-get install {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Two set-ups at once (two clones, or a test run beside `make run`) would fail on apt's own
    # lock: ours serialises them, and apt waits for any other holder (unattended upgrades).
    wait = ["-o", "DPkg::Lock::Timeout=600"]
    with file_lock(cache_dir() / ".apt.lock"):
        found = [shutil.which(b) for b in binaries]
        if all(found):  # installed by the set-up we waited for
            return [f for f in found if f]
        print(f"installing {package} (Debian package)", flush=True)
        steps = [] if _updated else [[apt, *wait, "update", "-qq"]]
        steps.append([apt, *wait, "install", "-y", "-qq", "--no-install-recommends", package])
        for argv in steps:
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=900)
            if proc.returncode != 0:
                raise PackageUnavailable(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
        _updated = True
    found = [shutil.which(b) for b in binaries]
    if not all(found):
        raise PackageUnavailable(f"the {package} package installed no {', '.join(binaries)}")
    return [f for f in found if f]
