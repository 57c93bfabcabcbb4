"""Every registered gateway, described for the contract tests.

A gateway is found in the registry (`remote = True`), built with the keyword
arguments every `GatewayProvider` takes, and described by its recorded payloads:
`payloads/<name>/contract.json` names the answers the shared tests replay
(see docs/providers.md). A new gateway with that file is picked up by every
parametrised test in test_gateway_contract.py and test_gateway_sandbox.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from studio.providers import registry
from studio.providers.base import SubmitRequest
from studio.providers.gateway import GatewayProvider

PAYLOADS = Path(__file__).parent / "payloads"


def gateway_names() -> list[str]:
    return [name for name in registry.PROVIDERS if registry.provider_class(name).remote]


@dataclass(frozen=True)
class GatewayContract:
    name: str

    def __str__(self) -> str:
        return self.name

    @property
    def cls(self) -> type[GatewayProvider]:
        cls = registry.provider_class(self.name)
        assert issubclass(cls, GatewayProvider)
        return cls

    @cached_property
    def facts(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((PAYLOADS / self.name / "contract.json").read_text())
        return data

    @property
    def create_path(self) -> str:
        return str(self.facts["create_path"])

    def payload(self, name: str) -> str:
        """The replay name of one of this gateway's recorded answers."""
        return f"{self.name}/{name}"

    def make(
        self,
        *,
        base_url: str,
        api_key: str,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> GatewayProvider:
        return self.cls(
            base_url=base_url,
            api_key=api_key,
            transport=transport,
            timeout=timeout,
            download_timeout=timeout,
        )

    def request(self, **kw: object) -> SubmitRequest:
        """A valid text-to-video request for this gateway."""
        fields: dict[str, object] = {"job_id": "job-1", "mode": "text2video"}
        fields.update(self.facts["request"])
        fields.update(kw)
        return SubmitRequest(**fields)  # type: ignore[arg-type]


GATEWAYS = [GatewayContract(name) for name in gateway_names()]
