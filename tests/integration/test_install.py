"""scripts/install-pi into a staging root: files in place, idempotent, the user's config kept."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from appliance import config as cfg

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-pi"
UNIT = "usr/local/lib/systemd/system/appliance.service"
WANTS = "etc/systemd/system/multi-user.target.wants/appliance.service"


def install(
    *args: str, check: bool = True, sysfs: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SUDO_USER", "APPLIANCE_SYSFS")}
    if sysfs is not None:
        env["APPLIANCE_SYSFS"] = str(sysfs)  # the device's /sys, faked
    result = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every path under ``root`` with its mode and content (or link target)."""
    out: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = (0, os.readlink(path))
        elif path.is_file():
            out[rel] = (stat.S_IMODE(path.stat().st_mode), path.read_bytes())
        else:
            out[rel] = (stat.S_IMODE(path.stat().st_mode), "dir")
    return out


needs_systemctl = pytest.mark.skipif(
    shutil.which("systemctl") is None, reason="systemctl not installed (apt: systemd)"
)


@needs_systemctl
def test_install_into_a_staging_root(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    result = install("--root", str(root), "--no-venv")
    files = snapshot(root)
    for rel, mode in [
        (UNIT, 0o644),
        ("usr/local/lib/sysusers.d/appliance.conf", 0o644),
        ("usr/local/lib/tmpfiles.d/appliance.conf", 0o644),
        ("etc/appliance", 0o750),
        ("etc/appliance/config.toml", 0o640),
        ("etc/appliance/openai.key", 0o600),
        ("opt/appliance/share/config.sample.toml", 0o644),
    ]:
        assert rel in files, rel
        assert files[rel][0] == mode, rel
    assert (root / UNIT).read_text() == (ROOT / "systemd/appliance.service").read_text()
    assert (
        os.readlink(root / "usr/local/bin/appliance") == "/opt/appliance/current/venv/bin/appliance"
    )
    release = install("--print-release").stdout.strip()
    assert os.readlink(root / "opt/appliance/current") == f"releases/{release}"
    assert files["usr/local/lib/appliance/appliance-release"][0] == 0o755
    assert os.readlink(root / WANTS) == f"/{UNIT}"  # enabled at boot
    assert (root / "etc/appliance/openai.key").read_bytes() == b""
    assert cfg.load(root / "etc/appliance/config.toml", environ={}) == cfg.AppConfig()
    # The live system's commands are printed, not run.
    skipped = [ln for ln in result.stderr.splitlines() if ln.startswith("+ (skipped: --root)")]
    for command in ("apt-get install", "systemd-sysusers", "systemd-tmpfiles", "try-restart"):
        assert any(command in line for line in skipped), command


@needs_systemctl
def test_install_twice_changes_nothing_and_keeps_the_users_config(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    install("--root", str(root), "--no-venv", "--no-apt")
    config = root / "etc/appliance/config.toml"
    mine = '[realtime.config]\nvoice = "verse"  # mine\n'
    config.write_text(mine)
    config.chmod(0o600)
    key = root / "etc/appliance/openai.key"
    key.write_text("sk-mine\n")
    before = snapshot(root)
    result = install("--root", str(root), "--no-venv", "--no-apt")
    assert "keeping your /etc/appliance/config.toml" in result.stderr
    assert snapshot(root) == before
    assert config.read_text() == mine
    assert key.read_text() == "sk-mine\n"


@needs_systemctl
def test_prefix_is_followed_by_the_unit(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    install("--root", str(root), "--no-venv", "--no-apt", "--prefix", "/srv/kiosk")
    unit = (root / UNIT).read_text()
    assert "ExecStart=/srv/kiosk/current/venv/bin/appliance run" in unit
    assert "/opt/appliance" not in unit
    assert os.readlink(root / "usr/local/bin/appliance") == "/srv/kiosk/current/venv/bin/appliance"
    assert (root / "srv/kiosk/current").is_symlink()
    assert (root / "srv/kiosk/share/config.sample.toml").exists()


@needs_systemctl
def test_uninstall_keeps_config_and_purge_removes_it(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    install("--root", str(root), "--no-venv", "--no-apt")
    (root / "etc/appliance/config.toml").write_text("# mine\n")
    result = install("--root", str(root), "--uninstall")
    assert "kept /etc/appliance" in result.stderr
    assert not (root / UNIT).exists()
    assert not (root / WANTS).is_symlink()
    assert not (root / "opt/appliance").exists()
    assert not (root / "usr/local/bin/appliance").is_symlink()
    assert (root / "etc/appliance/config.toml").read_text() == "# mine\n"
    install("--root", str(root), "--uninstall", "--purge")
    assert not (root / "etc/appliance").exists()
    leftovers = [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    assert leftovers == []


BACKLIGHT_DROPIN = "etc/systemd/system/appliance.service.d/backlight.conf"


def fake_sysfs(base: Path, *names: str) -> Path:
    """A /sys with a backlight per name, linked from class/backlight as the kernel does."""
    sysfs = base / "sys"
    (sysfs / "class" / "backlight").mkdir(parents=True)
    for name in names:
        device = sysfs / "devices" / "platform" / name / "backlight" / name
        device.mkdir(parents=True)
        (device / "brightness").write_text("255\n")
        link = sysfs / "class" / "backlight" / name
        link.symlink_to(f"../../devices/platform/{name}/backlight/{name}")
    return sysfs


@needs_systemctl
def test_a_backlight_is_made_writable_by_a_drop_in(tmp_path: Path) -> None:
    """The unit's ProtectKernelTunables=yes makes /sys read-only; install-pi allows each
    backlight's real directory (readlink -f, named as on the device), once."""
    root = tmp_path / "stage"
    sysfs = fake_sysfs(tmp_path, "10-0045", "rpi_backlight")
    result = install("--root", str(root), "--no-venv", "--no-apt", sysfs=sysfs)
    dropin = root / BACKLIGHT_DROPIN
    assert dropin.read_text().splitlines()[1:] == [
        "[Service]",
        "ReadWritePaths=-/sys/devices/platform/10-0045/backlight/10-0045",
        "ReadWritePaths=-/sys/devices/platform/rpi_backlight/backlight/rpi_backlight",
    ]
    assert stat.S_IMODE(dropin.stat().st_mode) == 0o644
    assert "writable by the service" in result.stderr
    # Again: nothing changes.
    before = snapshot(root)
    result = install("--root", str(root), "--no-venv", "--no-apt", sysfs=sysfs)
    assert f"keeping /{BACKLIGHT_DROPIN}" in result.stderr
    assert snapshot(root) == before
    # Removed with the unit.
    install("--root", str(root), "--uninstall")
    assert not dropin.exists()


@needs_systemctl
def test_no_backlight_no_drop_in(tmp_path: Path) -> None:
    empty = fake_sysfs(tmp_path)  # class/backlight exists, empty
    install("--root", str(tmp_path / "a"), "--no-venv", "--no-apt", sysfs=empty)
    assert not (tmp_path / "a" / BACKLIGHT_DROPIN).exists()
    # --root alone looks at the root's /sys (an image being built has none), not this machine's.
    install("--root", str(tmp_path / "b"), "--no-venv", "--no-apt")
    assert not (tmp_path / "b" / "etc/systemd/system/appliance.service.d").exists()


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "stage"
    root.mkdir()
    result = install("--root", str(root), "--dry-run")
    assert list(root.iterdir()) == []
    assert "dry run" in result.stderr
    for action in ("python3", "-m venv", "install -D", "config.toml", "enable appliance.service"):
        assert action in result.stderr, action


def test_bad_options_are_refused() -> None:
    result = install("--frobnicate", check=False)
    assert result.returncode != 0
    assert "unknown option: --frobnicate" in result.stderr
    result = install("--purge", "--root", "/tmp/x", check=False)
    assert result.returncode != 0
    assert "--purge goes with --uninstall" in result.stderr
    result = install("--prefix", "opt", "--root", "/tmp/x", check=False)
    assert "absolute" in result.stderr


def test_help() -> None:
    result = install("--help")
    assert "--uninstall" in result.stdout
    assert "--root DIR" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("APPLIANCE_FULL") != "1", reason="builds a virtualenv; set APPLIANCE_FULL=1"
)
@needs_systemctl
def test_install_with_the_virtualenv(tmp_path: Path) -> None:
    """An empty staging root: the virtualenv made here names the device's paths only."""
    root = tmp_path / "stage"
    install("--root", str(root), "--no-apt")
    release = install("--print-release").stdout.strip()
    venv = root / "opt/appliance/releases" / release / "venv"
    assert (root / "opt/appliance/current/venv").resolve() == venv.resolve()
    scripts = [p for p in (venv / "bin").iterdir() if p.is_file() and not p.is_symlink()]
    shebangs = {p.name: p.read_bytes().split(b"\n", 2)[:2] for p in scripts}
    python = f"/opt/appliance/releases/{release}/venv/bin/python".encode()
    assert shebangs["appliance"][0] == b"#!" + python
    for name, (line, second) in shebangs.items():
        if line == b"#!/bin/sh":  # pip's form for a #! path over 127 bytes (a long staging root)
            assert second.startswith(b"'''exec' " + python), name
        elif line.startswith(b"#!"):
            assert line.startswith(b"#!" + python), name
    for name in ("python", "python3"):
        assert os.readlink(venv / "bin" / name) == "/usr/bin/python3"
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "home = /usr/bin\n" in cfg
    assert "include-system-site-packages = true\n" in cfg
    for path in venv.rglob("*"):
        if path.is_file() and path.suffix not in (".pyc", ".so") and not path.is_symlink():
            assert str(root).encode() not in path.read_bytes(), path
    # It runs from where it is, with this machine's /usr/bin/python3 standing in for the
    # device's (same architecture and Python version here).
    if shutil.which("/usr/bin/python3") is None:
        pytest.skip("no /usr/bin/python3 here")
    result = subprocess.run(
        [
            str(venv / "bin/python"),
            "-m",
            "appliance",
            "config",
            "validate",
            str(root / "etc/appliance/config.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr
