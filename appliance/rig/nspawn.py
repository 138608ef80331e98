"""Debian 12 containers booted with systemd-nspawn: the test bed for the unit and the playbooks.

A cached Debian bookworm amd64 root (debootstrap, once: ``scripts/lib/debian-root.sh``, the
helpers ``scripts/check-pi`` uses too) with systemd, dbus, openssh-server, python3 and the
system packages of ``scripts/install-pi``. Each container boots a private copy of it (an
overlayfs over the cached root: the copy survives the container's reboots and is thrown away
at the end) with ``systemd-nspawn --register=no --keep-unit -D ROOT -b``, sharing this
machine's network: a container reaches the simulator on 127.0.0.1, and its sshd listens on
a loopback address and port of its own. Commands run inside with ``nsenter -t LEADER -a``
(``--register=no``: no machinectl). Everything started is stopped by PID: SIGRTMIN+3 to the
container's init (a clean poweroff), then SIGKILL after :data:`STOP_TIMEOUT_S`.

Hosts to SSH to (the Ansible tests)::

    from appliance.rig import nspawn

    reason = nspawn.unavailable()          # None, or why containers cannot boot here
    with nspawn.boot_hosts(3, workdir) as hosts:
        for host in hosts:
            host.name, host.address, host.port   # "appliance-test-0-3fa9c1", "127.0.0.2", 2200
            host.user                            # "root" (key only; no password)
            host.key, host.known_hosts           # the rig's private key, the hosts' keys
            host.ssh("systemctl", "is-active", "ssh")   # ssh with those options
            host.ssh_args()                      # ["ssh", "-i", KEY, ..., "root@127.0.0.2"]
            host.ansible_vars()                  # ansible_host, ansible_port, ... for an inventory
            host.container.run(["journalctl", "-u", "appliance"])   # nsenter, no ssh
            host.container.reboot()              # and wait until it is up again

Each host has its own host key (made by the rig before the first boot, listed in
``known_hosts``), one authorized key, the rig's, made in ``workdir``, and its name as its
hostname; up to :data:`MAX_HOSTS` at once. All hosts are booted
at once and waited for together; :func:`boot_hosts` stops them all on exit.

One container without SSH: ``with booted(workdir, "name") as container: ...``.

The appliance from this checkout: :func:`install_appliance` runs ``scripts/install-pi``
inside a booted container. Its Python dependencies come from a wheel house built once inside
a container (``pip wheel``, from the package index) and cached next to the root, keyed by
``pyproject.toml``'s requirements: later installs need no network. Every container sees the
wheel houses at ``/var/cache/appliance-wheels``; something else that runs install-pi there
(a playbook over SSH) gets the same offline install with this environment::

    source = nspawn.copy_checkout(host.container)          # /usr/src/appliance inside
    env = nspawn.offline_pip_env(nspawn.ensure_wheels(host.container, source))
    # {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/var/cache/appliance-wheels/KEY", ...}

The cache: ``APPLIANCE_NSPAWN_CACHE``, default ``$XDG_CACHE_HOME/appliance-nspawn`` or
``/var/cache/appliance-nspawn``; in it ``amd64/base-KEY`` (the root, about 650 MB; KEY:
:data:`BASE_RECIPE` and the package list), ``amd64/debs``, ``amd64/wheels/KEY`` (KEY:
the run-time and build requirements) and ``amd64/run/NAME`` (the containers' copies, removed
after use). Needs root.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from appliance.rig.process import ROOT, poll_until

ARCH = "amd64"
BASE_RECIPE = 2
"""Bump when the way the cached root is made changes: it is then rebuilt."""
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "python3",
    "python3-venv",
    "ca-certificates",
    "procps",
    "iproute2",
    "sudo",
)
"""What every container has, besides the packages ``scripts/install-pi`` installs."""
MASKED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer")
"""Timers that would reach the network or the disks in the middle of a test."""
BUILD_TIMEOUT_S = 1800.0
"""debootstrap and the first package downloads."""
BOOT_TIMEOUT_S = 120.0
"""From ``systemd-nspawn -b`` to ``systemctl is-system-running`` saying running/degraded."""
STOP_TIMEOUT_S = 30.0
"""From SIGRTMIN+3 (or a reboot) to the container's exit, before SIGKILL."""
RUN_TIMEOUT_S = 120.0
"""Default limit of one command run inside."""
WHEELS_TIMEOUT_S = 1800.0
"""Building the wheel house (PyAudio is compiled)."""
CACHE_KEEP_DAYS = 14
"""Roots and wheel houses of other recipes (other checkouts) unused this long are removed."""
SSH_PORT_FIRST = 2200
SSH_PORTS = 100
"""Each host's sshd listens on the first free port from SSH_PORT_FIRST on its own address."""
MAX_HOSTS = 50
"""Hosts booted at once by one :func:`boot_hosts` (127.0.0.2 to 127.0.0.51)."""
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WHEELS_INSIDE = "/var/cache/appliance-wheels"
SOURCE_INSIDE = "/usr/src/appliance"
PASSED_ENV = ("PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
PROXY_ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


class BootFailed(RuntimeError):
    """A container did not come up, or a command inside it failed (the message says which)."""


def unavailable() -> str | None:
    """Why containers cannot be booted here, or None when they can."""
    if os.geteuid() != 0:
        return "systemd-nspawn, debootstrap and overlay mounts need root"
    for tool in ("systemd-nspawn", "nsenter", "debootstrap", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            package = {
                "systemd-nspawn": "systemd-container",
                "ssh": "openssh-client",
                "ssh-keygen": "openssh-client",
                "nsenter": "util-linux",
            }.get(tool, tool)
            return f"{tool} is not installed (apt-get install {package})"
    machine = os.uname().machine
    if machine != "x86_64":
        return f"the cached root is amd64; this machine is {machine}"
    if not Path("/proc/filesystems").read_text().count("overlay"):
        return "the kernel has no overlayfs"
    return None


def cache_dir() -> Path:
    """The cache of roots, .debs and wheels (never the checkout)."""
    if value := os.environ.get("APPLIANCE_NSPAWN_CACHE"):
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or "/var/cache"
    return Path(base) / "appliance-nspawn"


def install_pi_packages(source: Path = ROOT) -> list[str]:
    """The packages ``scripts/install-pi`` installs (its ``APT_PACKAGES``): the cached root has
    them, so that installing the appliance needs no apt download."""
    text = (source / "scripts" / "install-pi").read_text()
    found = re.search(r"^APT_PACKAGES=\((.*?)\)", text, re.M | re.S)
    if not found:
        raise BootFailed("scripts/install-pi has no APT_PACKAGES=(...) list")
    return [word for word in found.group(1).split() if not word.startswith("#")]


def base_key(source: Path = ROOT) -> str:
    packages = sorted({*BASE_PACKAGES, *install_pi_packages(source)})
    return f"recipe={BASE_RECIPE} suite=bookworm arch={ARCH} packages={' '.join(packages)}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder at a time (another test process may be building the same thing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _sh(args: Sequence[str], timeout: float, what: str, **kwargs) -> str:
    result = subprocess.run(
        list(args), capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if result.returncode != 0:
        raise BootFailed(
            f"{what} failed (exit status {result.returncode}):\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    return result.stdout


def base_root(cache: Path | None = None, *, rebuild: bool = False) -> Path:
    """The cached root of this recipe, ``amd64/base-KEY``, made with debootstrap when missing.
    Roots of other recipes (another checkout's package list) are left to the containers that
    may run on them, and removed once unused for :data:`CACHE_KEEP_DAYS`."""
    cache = (cache or cache_dir()) / ARCH
    key = base_key()
    base = cache / f"base-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    key_file = base / ".nspawn-base"
    with _locked(cache / "base.lock"):
        _prune(cache.glob("base-*"), base, ".nspawn-base")
        if not rebuild and key_file.is_file() and key_file.read_text().strip() == key:
            key_file.touch()  # in use
            return base
        new = base.with_name(base.name + ".new")
        for old in (base, new):
            if old.exists():
                shutil.rmtree(old)
        packages = ",".join(sorted({*BASE_PACKAGES, *install_pi_packages()}))
        lib = ROOT / "scripts" / "lib" / "debian-root.sh"
        _sh(
            ["bash", str(lib), "debian_root_debootstrap", ARCH, packages, str(cache / "debs"),
             str(new)],
            BUILD_TIMEOUT_S,
            "debootstrap",
        )  # fmt: skip
        _customise(new)
        (new / ".nspawn-base").write_text(key + "\n")
        new.rename(base)
        return base


def _prune(dirs: Iterator[Path], keep: Path, mark: str) -> None:
    """Remove the directories among ``dirs`` but ``keep`` whose ``mark`` file (touched at
    each use) is older than CACHE_KEEP_DAYS, or missing and the directory that old."""
    for other in dirs:
        if other == keep or not other.is_dir():
            continue
        stamp = other / mark if (other / mark).exists() else other
        if time.time() - stamp.stat().st_mtime > CACHE_KEEP_DAYS * 86400:
            shutil.rmtree(other, ignore_errors=True)


def _customise(root: Path) -> None:
    """What every container shares: no host keys and sshd off (:func:`boot_hosts` gives each
    host its own key and address, then enables it), no apt timers, root's SSH directory, an
    empty machine id (a new one at each first boot)."""
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    _sh(["systemctl", f"--root={root}", "--quiet", "disable", "ssh.service"], 60, "disable ssh")
    systemd = root / "etc" / "systemd" / "system"
    for unit in MASKED_UNITS:
        link = systemd / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    ssh_dir = root / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (root / "etc" / "machine-id").write_text("")
    (root / "etc" / "hostname").write_text("appliance-test\n")
    _sh(["chroot", str(root), "apt-get", "clean"], 120, "apt-get clean")


def _free_port(address: str) -> int:
    for port in range(SSH_PORT_FIRST, SSH_PORT_FIRST + SSH_PORTS):
        with socket.socket() as probe:
            try:
                probe.bind((address, port))
            except OSError:
                continue
            return port
    raise BootFailed(f"no free port on {address} in {SSH_PORT_FIRST}..{SSH_PORT_FIRST + 99}")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _is_namespace_init(pid: int) -> bool:
    """True if ``pid`` is PID 1 of a PID namespace below ours."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            ids = line.split()[1:]
            return len(ids) >= 2 and ids[-1] == "1"
    return False


@dataclass
class Container:
    """One container booted from ``root`` (a directory this rig owns: see :func:`booted`)."""

    root: Path
    name: str
    log: Path
    binds: tuple[tuple[Path, str], ...] = ()
    leader: int = 0
    """The container's init, as this machine sees it (0: not running)."""
    boots: int = 0
    stopped: int | None = None
    """systemd-nspawn's exit status after :meth:`stop` (0: a clean poweroff; None: killed)."""
    _nspawn: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        """``systemd-nspawn -b`` in the background; returns once its init is known."""
        args = [
            "systemd-nspawn",
            "--register=no",
            "--keep-unit",
            "--quiet",
            f"--machine={self.name}",
            f"--directory={self.root}",
            "--console=read-only",
            "--link-journal=no",
            "--resolv-conf=copy-host",
            *(f"--bind={host}:{inside}" for host, inside in self.binds),
            "--boot",
        ]
        self.boots += 1
        with open(self.log, "a") as out:
            out.write(f"--- boot {self.boots}: {' '.join(args)}\n")
            out.flush()
            self._nspawn = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"PATH": PATH, "LANG": "C.UTF-8"},
                start_new_session=True,
            )
        nspawn = self._nspawn

        def leader() -> int:
            if nspawn.poll() is not None:
                return -1
            return next((p for p in _descendants(nspawn.pid) if _is_namespace_init(p)), 0)

        pid = poll_until(leader, 30.0, 0.05)
        if pid <= 0:
            self.kill()
            raise BootFailed(f"{self.name}: systemd-nspawn did not start its init:\n{self.tail()}")
        self.leader = pid

    def tail(self, lines: int = 40) -> str:
        """The end of the container's console log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self._nspawn is not None and self._nspawn.poll() is None

    def run(
        self,
        args: Sequence[str] | str,
        *,
        check: bool = True,
        timeout: float = RUN_TIMEOUT_S,
        env: dict[str, str] | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """A command inside the container as root (a string runs with ``sh -c``), its output
        captured; ``check``: fail with the output if it exits non-zero."""
        if not self.alive():
            raise BootFailed(f"{self.name} is not running:\n{self.tail()}")
        command = ["sh", "-c", args] if isinstance(args, str) else list(args)
        environment = [
            f"PATH={PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            "TERM=dumb",
            "SYSTEMD_PAGER=",
            "SYSTEMD_COLORS=0",
            *(f"{k}={v}" for k, v in (env or {}).items()),
        ]
        result = subprocess.run(
            ["nsenter", "-t", str(self.leader), "-a", "env", "-i", *environment, *command],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise BootFailed(
                f"{self.name}: {command} exited {result.returncode}:\n"
                f"{result.stdout[-6000:]}{result.stderr[-6000:]}"
            )
        return result

    def system_state(self) -> str:
        """``systemctl is-system-running`` inside (``offline`` until its manager answers)."""
        try:
            result = self.run(["systemctl", "is-system-running"], check=False, timeout=10)
        except subprocess.TimeoutExpired:  # a busy machine: ask again
            return "offline"
        return result.stdout.strip() or "offline"

    def wait_running(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        """Wait until the boot is done; fail naming the failed units if it is ``degraded``."""
        finished = ("running", "degraded")
        state = poll_until(
            lambda: not self.alive() or self.system_state() in finished, timeout, 0.25
        )
        if not self.alive():
            raise BootFailed(f"{self.name} exited while booting:\n{self.tail()}")
        state = self.system_state()
        if state == "degraded":
            failed = self.run(
                "systemctl --failed --no-legend --plain; for u in $(systemctl --failed "
                "--no-legend --plain | cut -d' ' -f1); do journalctl -b -u $u -n 20 --no-pager; "
                "done",
                check=False,
            ).stdout
            raise BootFailed(f"{self.name} booted degraded; failed units:\n{failed}")
        if state != "running":
            raise BootFailed(
                f"{self.name}: not up within {timeout:g} s (state {state}):\n{self.tail()}"
            )

    def boot(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        self.start()
        self.wait_running(timeout)

    def _wait_exit(self, timeout: float) -> int | None:
        assert self._nspawn is not None
        try:
            return self._nspawn.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def reboot(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        """``systemctl reboot`` inside, then a new boot of the same root (systemd-nspawn ends
        with 133 when its container reboots; nothing restarts it but this)."""
        self.run(["systemctl", "reboot"], check=False, timeout=10)
        code = self._wait_exit(STOP_TIMEOUT_S)
        if code is None:
            self.kill()
            raise BootFailed(f"{self.name} did not reboot within {STOP_TIMEOUT_S:g} s")
        if code != 133:
            raise BootFailed(f"{self.name}: systemd-nspawn exited {code} at reboot:\n{self.tail()}")
        self.leader = 0
        self.boot(timeout)

    def stop(self) -> int | None:
        """A clean poweroff (SIGRTMIN+3 to its init), SIGKILL after STOP_TIMEOUT_S; returns
        systemd-nspawn's exit status (None if it had to be killed)."""
        if not self.alive():
            self.stopped = self._nspawn.returncode if self._nspawn else None
            return self.stopped
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.leader, signal.SIGRTMIN + 3)
        self.stopped = self._wait_exit(STOP_TIMEOUT_S)
        if self.stopped is None:
            self.kill()
        return self.stopped

    def kill(self) -> None:
        """SIGKILL to its init (the whole PID namespace goes with it), then to nspawn."""
        if self.leader > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.leader, signal.SIGKILL)
        if self._nspawn is not None and self._wait_exit(5.0) is None:
            with contextlib.suppress(ProcessLookupError):
                self._nspawn.kill()
            self._nspawn.wait(10)
        self.leader = 0


@contextlib.contextmanager
def private_root(name: str, cache: Path | None = None) -> Iterator[Path]:
    """A writable copy of the cached root (overlayfs; the upper layer in the cache, removed
    on exit)."""
    base = base_root(cache)
    run = base.parent / "run"
    merged, upper, work = (run / name, run / f"{name}.upper", run / f"{name}.work")
    _unmount(merged)
    for path in (merged, upper, work):
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
    _sh(
        ["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={base},upperdir={upper},workdir={work}", str(merged)],
        30,
        "mount overlay",
    )  # fmt: skip
    try:
        yield merged
    finally:
        _unmount(merged)
        for path in (merged, upper, work):
            shutil.rmtree(path, ignore_errors=True)


def _unmount(path: Path) -> None:
    if not (path.is_dir() and os.path.ismount(path)):
        return
    if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def wheels_dir(cache: Path | None = None, source: Path = ROOT) -> Path:
    """The wheel house for this checkout's dependencies: keyed by ``pyproject.toml``'s
    run-time and build requirements (not its extras: a checkout that only adds a dev tool
    shares it)."""
    project = tomllib.loads((source / "pyproject.toml").read_text())
    wanted = [project["project"].get("dependencies", []), project["build-system"]["requires"]]
    key = hashlib.sha256(json.dumps(wanted).encode()).hexdigest()[:16]
    return (cache or cache_dir()) / ARCH / "wheels" / key


def _passed_env() -> dict[str, str]:
    return {k: os.environ[k] for k in (*PASSED_ENV, *PROXY_ENV) if k in os.environ}


def copy_checkout(container: Container, source: Path = ROOT) -> str:
    """This checkout (without .git, .venv and caches) at SOURCE_INSIDE in the container's root;
    returns that path."""
    dest = container.root / SOURCE_INSIDE.lstrip("/")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    excluded = shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".hypothesis", ".ruff_cache",
        ".pytest_cache", "artifacts", "demo-out.wav", "bench-results.json",
    )  # fmt: skip
    shutil.copytree(source, dest, ignore=excluded, dirs_exist_ok=True, symlinks=True)
    return SOURCE_INSIDE


def ensure_wheels(container: Container, source_inside: str, cache: Path | None = None) -> Path:
    """Build the wheel house inside ``container`` (which must have it bound at WHEELS_INSIDE:
    :func:`booted` does) unless it is cached; returns its path on this machine."""
    wheels = wheels_dir(cache)
    complete = wheels / ".complete"
    with _locked(wheels.parent / "build.lock"):
        _prune(wheels.parent.iterdir(), wheels, ".complete")  # other checkouts', long unused
        if complete.is_file():
            complete.touch()
            return wheels
        if wheels.exists():  # an interrupted build
            shutil.rmtree(wheels)
        wheels.mkdir(parents=True)
        inside = f"{WHEELS_INSIDE}/{wheels.name}"
        script = (
            "set -e; python3 -m venv /var/tmp/wheel-builder; "
            f"/var/tmp/wheel-builder/bin/pip wheel -q --wheel-dir {inside} "
            f"{source_inside} 'setuptools>=68' wheel; rm -f {inside}/appliance-*.whl; "
            "rm -rf /var/tmp/wheel-builder"
        )
        container.run(script, timeout=WHEELS_TIMEOUT_S, env=_passed_env())
        complete.write_text("")
    return wheels


def offline_pip_env(wheels: Path) -> dict[str, str]:
    """The environment under which pip, inside any container of this rig, installs from the
    wheel house ``wheels`` (:func:`ensure_wheels`) without the network."""
    return {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"{WHEELS_INSIDE}/{wheels.name}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def install_appliance(
    container: Container, *args: str, cache: Path | None = None, source: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``scripts/install-pi ARGS`` from a copy of this checkout inside the booted container,
    with its Python packages from the wheel house (no network once it is cached)."""
    source_inside = copy_checkout(container, source)
    env = offline_pip_env(ensure_wheels(container, source_inside, cache))
    return container.run(
        [f"{source_inside}/scripts/install-pi", *args], timeout=WHEELS_TIMEOUT_S, env=env
    )


@contextlib.contextmanager
def booted(
    workdir: Path, name: str, *, cache: Path | None = None, prepare=None, wait: bool = True
) -> Iterator[Container]:
    """One container from a private copy of the cached root, booted (``wait``: and running);
    ``prepare(root)`` may change its files before the first boot. Stopped on exit."""
    with private_root(name, cache) as root:
        (root / "etc" / "hostname").write_text(name + "\n")
        if prepare is not None:
            prepare(root)
        wheels = wheels_dir(cache)
        wheels.parent.mkdir(parents=True, exist_ok=True)
        container = Container(
            root, name, workdir / f"{name}.console.log", binds=((wheels.parent, WHEELS_INSIDE),)
        )
        try:
            container.start()
            if wait:
                container.wait_running()
            yield container
        finally:
            container.stop()


@dataclass
class SshHost:
    """A booted container with sshd on its own loopback address and port."""

    name: str
    address: str
    port: int
    key: Path
    known_hosts: Path
    container: Container
    user: str = "root"

    def ssh_args(self) -> list[str]:
        return [
            "ssh",
            "-i", str(self.key),
            "-p", str(self.port),
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            f"{self.user}@{self.address}",
        ]  # fmt: skip

    def ssh(
        self, *command: str, timeout: float = RUN_TIMEOUT_S, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.ssh_args(), "--", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise BootFailed(
                f"ssh {self.name}: {command} exited {result.returncode}:\n"
                f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
            )
        return result

    def ansible_vars(self) -> dict[str, str]:
        """Connection variables for an Ansible inventory."""
        return {
            "ansible_host": self.address,
            "ansible_port": str(self.port),
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes"
            ),
            "ansible_python_interpreter": "/usr/bin/python3",
        }


def _prepare_ssh(root: Path, address: str, port: int, public_key: str) -> tuple[str, str]:
    """sshd on ADDRESS:PORT with a host key of its own and the rig's key authorised; returns
    the host key's type and value."""
    ssh = root / "etc" / "ssh"
    host_key = ssh / "ssh_host_ed25519_key"
    host_key.unlink(missing_ok=True)
    _sh(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{address}:{port}",
         "-f", str(host_key)],
        30,
        "ssh-keygen (host key)",
    )  # fmt: skip
    (ssh / "sshd_config.d").mkdir(exist_ok=True)
    (ssh / "sshd_config.d" / "rig.conf").write_text(
        f"ListenAddress {address}:{port}\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UseDNS no\n"
    )
    authorized = root / "root" / ".ssh" / "authorized_keys"
    authorized.parent.mkdir(mode=0o700, exist_ok=True)
    authorized.write_text(public_key)
    authorized.chmod(0o600)
    _sh(["systemctl", f"--root={root}", "--quiet", "enable", "ssh.service"], 60, "enable ssh")
    kind, value = (ssh / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    return kind, value


@contextlib.contextmanager
def boot_hosts(
    n: int, workdir: Path, *, cache: Path | None = None, prefix: str = "appliance-test"
) -> Iterator[list[SshHost]]:
    """``n`` containers booted at once, each with sshd on 127.0.0.(2+i), a free port from
    SSH_PORT_FIRST, its own host key and the rig's key authorised (see the module's doc)."""
    if not 1 <= n <= MAX_HOSTS:
        raise ValueError(f"boot_hosts: n must be 1 to {MAX_HOSTS} (got {n})")
    workdir.mkdir(parents=True, exist_ok=True)
    key = workdir / "id_ed25519"
    if not key.exists():
        _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rig", "-f", str(key)], 30,
            "ssh-keygen (client key)")  # fmt: skip
    public_key = (workdir / "id_ed25519.pub").read_text()
    known_hosts = workdir / "known_hosts"
    known_lines: list[str] = []
    run_id = uuid.uuid4().hex[:6]
    with contextlib.ExitStack() as stack:
        hosts: list[SshHost] = []
        for i in range(n):
            address = f"127.0.0.{2 + i}"
            port = _free_port(address)
            name = f"{prefix}-{i}-{run_id}"

            def prepare(root: Path, address: str = address, port: int = port) -> None:
                kind, value = _prepare_ssh(root, address, port, public_key)
                known_lines.append(f"[{address}]:{port} {kind} {value}")

            container = stack.enter_context(
                booted(workdir, name, cache=cache, prepare=prepare, wait=False)
            )
            hosts.append(SshHost(name, address, port, key, known_hosts, container))
        known_hosts.write_text("\n".join(known_lines) + "\n")
        for host in hosts:
            host.container.wait_running()
        for host in hosts:
            wait_ssh(host)
        yield hosts


def wait_ssh(host: SshHost, timeout: float = 60.0) -> None:
    """Until ``ssh HOST true`` succeeds (after a boot or a reboot)."""

    def answers() -> bool:
        try:
            return host.ssh("true", timeout=15, check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    if not poll_until(answers, timeout, 0.5):
        last = host.ssh("true", timeout=15, check=False)
        raise BootFailed(f"{host.name}: no SSH on {host.address}:{host.port}: {last.stderr}")


__all__ = [
    "BootFailed",
    "Container",
    "SshHost",
    "base_root",
    "boot_hosts",
    "booted",
    "cache_dir",
    "copy_checkout",
    "ensure_wheels",
    "install_appliance",
    "offline_pip_env",
    "unavailable",
    "wait_ssh",
]
