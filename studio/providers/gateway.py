"""What the HTTP gateway providers share.

One pooled client per provider (built on first use), the key kept out of every
message, and the two round trips every gateway makes: a create that must name
the upstream id, and a status read that must be a JSON object. Each provider
keeps what differs: paths, bodies, how the key is sent and how answers read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from studio.providers.base import (
    Provider,
    ProviderError,
    Submission,
    SubmitOutcomeUnknown,
    redact,
)
from studio.providers.http import (
    ClientHolder,
    api_timeout,
    build_client,
    create_error,
    create_transport_error,
    download_to_file,
    first_str,
    json_or_none,
    poll_error,
    poll_transport_error,
)


class GatewayProvider(Provider):
    # How messages name the upstream: "Mountsea", "The video gateway".
    speaker = "The gateway"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        download_timeout: httpx.Timeout | None = None,
    ) -> None:
        self.base_url = base_url
        self._key = api_key
        self._download_timeout = download_timeout
        # No default auth header: the same client downloads results from
        # foreign hosts, which must never see the key.
        self._holder = ClientHolder(
            lambda: build_client(
                base_url=self.base_url, timeout=timeout or api_timeout(), transport=transport
            )
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url}>"

    def is_configured(self) -> bool:
        return bool(self._key and self.base_url)

    def close(self) -> None:
        self._holder.close()

    def __del__(self) -> None:
        # A caller that forgets close() must not leak a socket.
        holder = getattr(self, "_holder", None)
        if holder is not None:
            holder.close()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key}"}

    def _clean(self, text: str) -> str:
        return redact(text, self._key)

    def _invalid(self, message: str) -> ProviderError:
        return ProviderError(self._clean(message), permanent=True, reason="validation")

    def _redact_error(self, exc: ProviderError) -> None:
        exc.message = self._clean(exc.message)
        exc.args = (exc.message,)

    def _create(self, path: str, id_keys: tuple[str, ...], **body: Any) -> Submission:
        """POST a create; its answer must name the upstream id (at the top or under "data").

        Without one the job may exist upstream: that is SubmitOutcomeUnknown,
        never a resend."""
        try:
            response = self._holder.get().post(path, headers=self._auth(), **body)
        except httpx.TransportError as exc:
            raise create_transport_error(self.speaker, exc) from None
        if not response.is_success:
            raise create_error(self.speaker, response, (self._key,))
        payload = json_or_none(response)
        upstream_id = first_str(payload, *id_keys)
        if not upstream_id and isinstance(payload, dict):
            upstream_id = first_str(payload.get("data"), *id_keys)
        if not upstream_id:
            snippet = self._clean(" ".join(response.text.split())[:200])
            raise SubmitOutcomeUnknown(
                f"{self.speaker} accepted the job (HTTP {response.status_code}) but its answer "
                f"has no {id_keys[0]}: {snippet!r}",
                status_code=response.status_code,
            )
        return Submission(upstream_id=upstream_id, raw=payload)

    def _read_status(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a status; anything but a JSON object is a transient error."""
        try:
            response = self._holder.get().get(path, params=params, headers=self._auth())
        except httpx.TransportError as exc:
            raise poll_transport_error(self.speaker, exc) from None
        if not response.is_success:
            raise poll_error(self.speaker, response, (self._key,))
        payload = json_or_none(response)
        if not isinstance(payload, dict):
            raise ProviderError(
                f"{self.speaker} answered a status read with something that is not a JSON "
                f"object (HTTP {response.status_code})",
                permanent=False,
                status_code=response.status_code,
            )
        return payload

    def _download_link(self, url: str, dest: Path) -> str:
        """A result link from the answer: every hop checked, the key never sent."""
        try:
            return download_to_file(self._holder.get(), url, dest, timeout=self._download_timeout)
        except ProviderError as exc:
            self._redact_error(exc)
            raise
