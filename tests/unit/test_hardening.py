"""Hardening: what leaves the appliance (hook environments, printed configs, error texts) and
what it reads from the network. Each test was written to fail on the code before its fix.
"""

from __future__ import annotations

from appliance.hooks import hook_env

# --- 12: hooks get a clean environment ----------------------------------------------------------


def test_hook_env_passes_only_path_lang_home_and_the_event() -> None:
    base = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/var/lib/appliance",
        "APPLIANCE_OPENAI__KEY": "sk-proj-secret0123456789",
        "APPLIANCE_REALTIME__PROVISIONING__HEADERS": '{"Authorization": "Bearer tok"}',
        "CREDENTIALS_DIRECTORY": "/run/credentials/appliance.service",
        "NOTIFY_SOCKET": "/run/systemd/notify",
        "AWS_SECRET_ACCESS_KEY": "aws-secret",
        "PYTHONPATH": "/opt/appliance",
    }
    env = hook_env({"type": "state", "state": "listening", "muted": False}, base)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/var/lib/appliance",
        "APPLIANCE_EVENT": "state",
        "APPLIANCE_TYPE": "state",
        "APPLIANCE_STATE": "listening",
        "APPLIANCE_MUTED": "false",
    }
    assert hook_env({"type": "started"}, {})["PATH"]  # a hook can always find its programs
