"""``install-pi --root``: the tree an image gets works once booted.

The full proof, an arm64 root under emulation, is ``scripts/check-pi`` (``APPLIANCE_FULL=1
scripts/test`` runs it). These tests check, on this machine, what the device's first boot does
with the staged files (systemd-sysusers and systemd-tmpfiles on the tree) and what install-pi
would run inside an image's root.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-pi"

needs_systemd_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("systemctl", "systemd-sysusers", "systemd-tmpfiles")),
    reason="systemd's tools are not installed (apt: systemd)",
)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def install(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
    result = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr
    return result


def first_boot(root: Path) -> None:
    """What systemd-sysusers.service and systemd-tmpfiles-setup.service do at boot."""
    for command in (
        [
            "systemd-sysusers",
            f"--root={root}",
            str(root / "usr/local/lib/sysusers.d/appliance.conf"),
        ],
        [
            "systemd-tmpfiles",
            f"--root={root}",
            "--create",
            str(root / "usr/local/lib/tmpfiles.d/appliance.conf"),
        ],
    ):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr


def owner(root: Path, path: str) -> tuple[str, str, int]:
    """(user, group, mode) of ROOT/path, the names looked up in ROOT's own user database."""
    st = (root / path).stat()
    users = {int(f[2]): f[0] for f in _db(root / "etc/passwd")} | {0: "root"}
    groups = {int(f[2]): f[0] for f in _db(root / "etc/group")} | {0: "root"}
    return (
        users.get(st.st_uid, str(st.st_uid)),
        groups.get(st.st_gid, str(st.st_gid)),
        (stat.S_IMODE(st.st_mode)),
    )


def _db(path: Path) -> list[list[str]]:
    return [line.split(":") for line in path.read_text().splitlines() if line.strip()]


@needs_systemd_tools
@needs_root
def test_first_boot_gives_the_readme_owners_and_modes(tmp_path: Path) -> None:
    root = tmp_path / "image"
    install("--root", str(root), "--no-venv", "--no-apt")
    # Staged without the user: root:root, the service could not read its config.
    assert (root / "etc/appliance/config.toml").stat().st_gid == 0
    first_boot(root)
    assert owner(root, "etc/appliance") == ("root", "appliance", 0o750)
    assert owner(root, "etc/appliance/config.toml") == ("root", "appliance", 0o640)
    assert owner(root, "etc/appliance/openai.key") == ("root", "root", 0o600)
    passwd = {f[0]: f for f in _db(root / "etc/passwd")}
    assert passwd["appliance"][5] == "/var/lib/appliance"
    assert passwd["appliance"][6].endswith("nologin")
    assert "gpio" in {f[0] for f in _db(root / "etc/group")}


@needs_systemd_tools
@needs_root
def test_every_boot_puts_wrong_owners_and_modes_right(tmp_path: Path) -> None:
    root = tmp_path / "image"
    install("--root", str(root), "--no-venv", "--no-apt")
    first_boot(root)
    config = root / "etc/appliance/config.toml"
    key = root / "etc/appliance/openai.key"
    # A config copied onto the card by hand, a key left readable.
    os.chown(config, 0, 0)
    config.chmod(0o644)
    key.write_text("sk-test\n")
    key.chmod(0o644)
    first_boot(root)
    assert owner(root, "etc/appliance/config.toml") == ("root", "appliance", 0o640)
    assert owner(root, "etc/appliance/openai.key") == ("root", "root", 0o600)
    assert key.read_text() == "sk-test\n"  # modes only: contents are never touched


@needs_systemd_tools
def test_an_image_root_is_installed_into_with_its_own_programs(tmp_path: Path) -> None:
    """A root holding an operating system: apt-get, python3 -m venv, pip, sysusers and tmpfiles
    run inside it (chroot), so the virtualenv has the device's paths and architecture."""
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('VERSION_CODENAME=bookworm\nPRETTY_NAME="Debian"\n')
    (root / "usr/bin").mkdir(parents=True)
    for program in ("python3", "apt-get"):  # never run: a dry run
        (root / "usr/bin" / program).write_text("")
        (root / "usr/bin" / program).chmod(0o755)
    result = install("--root", str(root), "--dry-run")
    err = result.stderr
    venv = f"/opt/appliance/releases/{install('--print-release').stdout.strip()}/venv"
    assert "image root" in err
    assert f"chroot {root} /usr/bin/env -i" in err
    for inside in (
        "apt-get install -y --no-install-recommends",
        f"/usr/bin/python3 -m venv --system-site-packages {venv}",
        f"{venv}/bin/python -m pip install",
        "systemd-sysusers /usr/local/lib/sysusers.d/appliance.conf",
        "systemd-tmpfiles --create /usr/local/lib/tmpfiles.d/appliance.conf",
    ):
        line = next((ln for ln in err.splitlines() if inside in ln), None)
        assert line is not None, inside
        assert line.startswith(f"+ chroot {root} "), line
    # pip's cache is not left in the image unless asked for.
    assert "--no-cache-dir" in err
    assert f"systemctl --root={root} --quiet enable appliance.service" in err
    names = sorted(p.name for p in root.rglob("*"))
    assert names == ["apt-get", "bin", "etc", "os-release", "python3", "usr"]
