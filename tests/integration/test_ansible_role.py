"""deploy/ansible: the role and playbook are lint-clean and parse; the role's configuration
tasks run for real on this machine.

What is real: ansible-playbook (the pinned ansible-core) with the `local` connection runs the
role's own config tasks (tasks/config.yml): the template rendered by the role's filter,
`appliance config validate` on the "host" before anything is written, `appliance config
diff`, the copy into place, idempotence. Paths point into a temporary directory. The handlers
are the play's own, recording "reload" or "restart" in a file, since this machine has no
systemd to reload a service with (the booted-container test runs the whole role over SSH:
tests/integration/test_playbook.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "ansible"
ROLE = DEPLOY / "roles" / "appliance"
BIN = Path(sys.executable).parent
PLAYBOOK = BIN / "ansible-playbook"
LINT = BIN / "ansible-lint"

needs_ansible = pytest.mark.skipif(
    not PLAYBOOK.exists(), reason="ansible-core is not installed (pip install -e '.[dev]')"
)

PLAY = """\
- name: The role's config tasks on this machine
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Configure
      ansible.builtin.import_tasks: {tasks}
  handlers:
    - name: Restart appliance
      ansible.builtin.lineinfile: {{path: {record}, line: restart, create: true, mode: "0600"}}
    - name: Reload appliance
      ansible.builtin.lineinfile: {{path: {record}, line: reload, create: true, mode: "0600"}}
"""


def ansible_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FILTER_PLUGINS": str(ROLE / "filter_plugins"),
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),
    }


@needs_ansible
@pytest.mark.skipif(not LINT.exists(), reason="ansible-lint is not installed")
def test_the_role_and_playbook_are_lint_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(LINT), "--offline", "--nocolor"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=300,
        env={**ansible_env(tmp_path), "ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed: 0 failure(s), 0 warning(s)" in result.stdout + result.stderr


@needs_ansible
def test_the_playbook_parses(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(PLAYBOOK), "-i", "inventory.example.yml", "site.yml", "--syntax-check"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=120,
        env={**ansible_env(tmp_path), "ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listed = subprocess.run(
        [str(PLAYBOOK), "-i", "inventory.example.yml", "site.yml", "--list-hosts"],
        cwd=DEPLOY,
        capture_output=True,
        text=True,
        timeout=120,
        env={**ansible_env(tmp_path), "ANSIBLE_CONFIG": str(DEPLOY / "ansible.cfg")},
    )
    assert "kiosk-hall.local" in listed.stdout and "kiosk-shop.local" in listed.stdout


class Host:
    """This machine as a host with /etc/appliance under ``tmp_path``."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.etc = tmp_path / "etc"
        self.etc.mkdir()
        self.config = self.etc / "config.toml"
        self.record = tmp_path / "handlers"
        (tmp_path / "templates").symlink_to(ROLE / "templates")
        self.play = tmp_path / "play.yml"
        self.play.write_text(PLAY.format(tasks=ROLE / "tasks/config.yml", record=self.record))

    def handlers(self) -> list[str]:
        return self.record.read_text().split() if self.record.exists() else []

    def apply(self, config: dict, host_config: dict | None = None) -> tuple[dict, str]:
        """Run the play; the recap's counts and the output."""
        extra = {
            "ansible_python_interpreter": sys.executable,
            "appliance_config": config,
            "appliance_host_config": host_config or {},
            "appliance_config_dir": str(self.etc),
            "appliance_stage_dir": str(self.tmp / "stage"),
            "appliance_command": str(BIN / "appliance"),
            "appliance_group": "root" if os.geteuid() == 0 else str(os.getegid()),
        }
        result = subprocess.run(
            [str(PLAYBOOK), "-i", "localhost,", str(self.play), "-e", json.dumps(extra)],
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=180,
            env=ansible_env(self.tmp),
        )
        recap = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+).*?failed=(\d+)", result.stdout)
        assert recap, result.stdout + result.stderr
        ok, changed, failed = (int(n) for n in recap.groups())
        return {"ok": ok, "changed": changed, "failed": failed}, result.stdout


@pytest.mark.slow  # four playbook runs, some 30 s
@needs_ansible
def test_the_config_tasks_validate_reload_restart_and_change_nothing_twice(tmp_path: Path):
    host = Host(tmp_path)
    host.config.write_text('[realtime.config]\nvoice = "alloy"\n')
    group = {"realtime": {"config": {"voice": "verse"}}, "audio": {"volume": 60}}

    # A change to the session only: written, and applied with a reload.
    counts, out = host.apply(group)
    assert counts["failed"] == 0, out
    assert host.handlers() == ["reload"]
    text = host.config.read_text()
    assert 'voice = "verse"' in text and "volume = 60" in text

    # The same again: nothing changes, no handler runs.
    counts, out = host.apply(group)
    assert counts == {"ok": counts["ok"], "changed": 0, "failed": 0}, out
    assert host.handlers() == ["reload"]

    # A bad value fails the host with the appliance's message; the config stays as it was.
    counts, out = host.apply({**group, "audio": {"volume": 900}})
    assert counts["failed"] == 1
    assert "failed to validate" in out and "audio.volume" in out
    assert host.config.read_text() == text
    assert host.handlers() == ["reload"]

    # A host's own value that needs a restart (the sound card): a restart.
    counts, out = host.apply(group, {"audio": {"input_device": "USB"}})
    assert counts["failed"] == 0, out
    assert host.handlers() == ["reload", "restart"]
    assert 'input_device = "USB"' in host.config.read_text()
    assert "volume = 60" in host.config.read_text()  # merged with the group's


@needs_ansible
def test_the_health_check_gives_up_at_its_timeout(tmp_path: Path) -> None:
    """health.yml: `appliance status` must say idle; with no appliance running the host fails
    after appliance_health_timeout s, with the reason."""
    play = tmp_path / "play.yml"
    tasks = ROLE / "tasks/health.yml"
    play.write_text(
        "- name: Health\n  hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  tasks:\n    - name: Check\n      ansible.builtin.import_tasks: {tasks}\n"
    )
    extra = {
        "ansible_python_interpreter": sys.executable,
        "appliance_command": str(BIN / "appliance"),
        "appliance_health_timeout": 2,
        "appliance_health_interval": 1,
    }
    env = {**ansible_env(tmp_path), "APPLIANCE_SOCKET": str(tmp_path / "none.sock")}
    result = subprocess.run(
        [str(PLAYBOOK), "-i", "localhost,", str(play), "-e", json.dumps(extra)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode != 0
    assert "did not reach idle within 2 s" in result.stdout, result.stdout
