"""The configuration as shown: redacted plain data, and the JSON schema of the file."""

from __future__ import annotations

from typing import Any

from appliance.config.models import AppConfig
from appliance.redaction import mask_url

REDACTED = "***"
"""What a secret is shown as."""


def redacted(config: AppConfig) -> dict[str, Any]:
    """The effective config as plain data, with every secret replaced by ``***``."""
    data = config.model_dump(mode="json", exclude_none=True)
    openai = data.get("openai", {})
    if config.openai.key is not None:
        openai["key"] = REDACTED
    rt = data.get("realtime", {})
    if config.realtime.ephemeral_key is not None:
        rt["ephemeral_key"] = REDACTED
    prov = rt.get("provisioning")
    if prov:
        prov["headers"] = {name: REDACTED for name in prov.get("headers", {})}
        if prov.get("body") is not None:
            prov["body"] = REDACTED
    return masked_urls(data)


def masked_urls(value: Any) -> Any:
    """``value`` (plain data) with every URL's credentials masked (see
    :func:`appliance.redaction.mask_url`): ``https://user:pass@host``, ``?token=...``."""
    if isinstance(value, str):
        return mask_url(value)
    if isinstance(value, dict):
        return {k: masked_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked_urls(v) for v in value]
    return value


def schema() -> dict[str, Any]:
    """The JSON schema of the configuration file."""
    return AppConfig.model_json_schema(by_alias=False)
