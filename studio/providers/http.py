"""HTTP plumbing shared by the gateway providers.

`build_client` is the one factory for provider clients (tests pass a
`transport=`). `download_to_file` fetches a finished video safely: it streams
into a temporary file under a size cap, checks the content type, follows a few
redirects itself and re-checks every hop, and refuses private and loopback
addresses unless `STUDIO_ALLOW_PRIVATE_URLS` is set (the sandbox gateway runs on
127.0.0.1). Each hop connects to the address that was checked, not to a second
DNS answer.
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import json
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import certifi
import httpx
from django.conf import settings

from studio.providers.base import (
    ProviderError,
    SubmitNotAccepted,
    SubmitOutcomeUnknown,
    redact,
)

# Connect fast, read JSON within 30 s (the worker's task timeout is 90 s).
API_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
# A read timeout here is the gap between two chunks, not the whole transfer.
DOWNLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=10.0)
MAX_REDIRECTS = 3


def api_timeout() -> httpx.Timeout:
    """API_TIMEOUT with the read limit from STUDIO_HTTP_READ_TIMEOUT, when set."""
    read = getattr(settings, "STUDIO_HTTP_READ_TIMEOUT", None)
    if not read:
        return API_TIMEOUT
    return httpx.Timeout(connect=10.0, read=float(read), write=30.0, pool=10.0)


USER_AGENT = "Studio/0.1 (+self-hosted)"

_REDIRECT_CODES = {301, 302, 303, 307, 308}
_CHUNK = 256 * 1024

Resolver = Callable[[str, int], list[str]]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one reads the CA bundle
    (about 0.1 s), and the worker makes a provider, so a client, per task."""
    return ssl.create_default_context(cafile=certifi.where())


def build_client(
    *,
    base_url: str = "",
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """The client every provider wraps. Redirects are never followed implicitly."""
    merged = {"User-Agent": USER_AGENT}
    merged.update(headers or {})
    return httpx.Client(
        base_url=base_url,
        headers=merged,
        timeout=timeout or api_timeout(),
        transport=transport,
        follow_redirects=False,
        verify=tls_context(),
        # Studio never wants a proxy picked up from the environment for a
        # loopback sandbox, and gateways are configured explicitly.
        trust_env=False,
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class DownloadError(ProviderError):
    """A result could not be fetched. Permanent unless the failure may pass."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = True,
        reason: str = "download",
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            permanent=permanent,
            reason=reason,
            status_code=status_code,
            retry_after=retry_after,
        )


def check_url(
    url: httpx.URL, *, allow_private: bool, resolver: Resolver | None = None
) -> list[str]:
    """Refuse anything but http(s) to public addresses (every resolved one).

    Returns the checked addresses, for the request to connect to one of them
    (none when private addresses are allowed: nothing to pin then)."""
    if url.scheme not in ("http", "https"):
        raise DownloadError(f"refusing a {url.scheme or 'schemeless'} URL; only http(s)")
    host = url.host
    if not host:
        raise DownloadError("refusing a URL without a host")
    if allow_private:
        return []
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = (resolver or system_resolver)(host, port)
        except OSError as exc:
            raise DownloadError(
                f"cannot resolve the result host {host}: {exc}", permanent=False
            ) from None
    if not addresses:
        raise DownloadError(f"the result host {host} has no address", permanent=False)
    for address in addresses:
        if not _is_public(address):
            raise DownloadError(
                f"refusing the result host {host}: it resolves to a private or loopback "
                "address (set STUDIO_ALLOW_PRIVATE_URLS=1 only for a local sandbox)"
            )
    return addresses


def pinned_request(
    client: httpx.Client,
    url: httpx.URL,
    address: str,
    *,
    headers: Mapping[str, str],
    timeout: httpx.Timeout,
) -> httpx.Request:
    """A GET for `url` that connects to `address`, the one `check_url` checked.

    A DNS answer that changes between the check and the connection (DNS
    rebinding) cannot steer the download to a private address. The Host header
    and the TLS server name stay the URL's host, so virtual hosting and the
    certificate check work as for any request to that host."""
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else None
    return client.build_request(
        "GET",
        url.copy_with(host=address),
        headers={**headers, "Host": url.netloc.decode("ascii")},
        timeout=timeout,
        extensions=extensions,
    )


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _looks_like_mp4(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] == b"ftyp"


def _error_snippet(response: httpx.Response) -> str:
    """The start of an error body, for the message; never the whole stream."""
    data = b""
    try:
        for chunk in response.iter_bytes(1024):
            data += chunk
            if len(data) >= 4096:
                break
    except httpx.TransportError:
        pass
    try:
        payload: Any = json.loads(data)
    except ValueError:
        payload = data.decode("utf-8", "replace")
    return " ".join(error_text(payload).split())[:300]


def _status_error(response: httpx.Response, where: str, detail: str = "") -> DownloadError:
    error = _status_error_bare(response, where)
    if detail:
        error.message = f"{error.message}: {detail}"
        error.args = (error.message,)
    return error


def _status_error_bare(response: httpx.Response, where: str) -> DownloadError:
    code = response.status_code
    if code in (404, 410):
        return DownloadError(
            f"the result at {where} is gone (HTTP {code}): it has expired or never existed",
            reason="expired",
            status_code=code,
        )
    if code == 429 or code >= 500 or code == 408:
        return DownloadError(
            f"the result host answered HTTP {code}",
            permanent=False,
            status_code=code,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
        )
    if code in (401, 403):
        # A signed result URL that stopped working reads as 403 on most CDNs.
        return DownloadError(
            f"the result host refused access (HTTP {code}); the link may have expired",
            reason="expired",
            status_code=code,
        )
    return DownloadError(f"the result host answered HTTP {code}", status_code=code)


def download_to_file(
    client: httpx.Client,
    url: str,
    dest: Path,
    *,
    max_bytes: int | None = None,
    allow_private: bool | None = None,
    max_redirects: int = MAX_REDIRECTS,
    headers: Mapping[str, str] | None = None,
    trusted_origin: str | None = None,
    resolver: Resolver | None = None,
    timeout: httpx.Timeout | None = None,
) -> str:
    """Stream `url` into `dest` and return the content type ("video/...").

    `headers` (the gateway's auth) are sent only to `trusted_origin`, the
    configured gateway, which is also exempt from the private-address check
    because an operator chose it. Every other hop is checked. The file appears
    at `dest` only when complete; a failure leaves nothing behind.
    """
    cap = max_bytes if max_bytes is not None else settings.STUDIO_MAX_RESULT_BYTES
    private_ok = (
        allow_private
        if allow_private is not None
        else bool(getattr(settings, "STUDIO_ALLOW_PRIVATE_URLS", False))
    )
    trusted = _origin(httpx.URL(trusted_origin)) if trusted_origin else None
    current = httpx.URL(url)
    for _hop in range(max_redirects + 1):
        is_trusted = trusted is not None and _origin(current) == trusted
        addresses = (
            [] if is_trusted else check_url(current, allow_private=private_ok, resolver=resolver)
        )
        request_headers = dict(headers or {}) if is_trusted else {}
        if addresses:
            request = pinned_request(
                client,
                current,
                addresses[0],
                headers=request_headers,
                timeout=timeout or DOWNLOAD_TIMEOUT,
            )
        else:
            request = client.build_request(
                "GET", current, headers=request_headers, timeout=timeout or DOWNLOAD_TIMEOUT
            )
        try:
            response = client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise DownloadError(
                f"the result download failed: {type(exc).__name__}", permanent=False
            ) from None
        try:
            if response.status_code in _REDIRECT_CODES:
                location = response.headers.get("location")
                if not location:
                    raise DownloadError("a redirect without a Location header")
                current = current.join(location)
                continue
            if response.status_code != 200:
                raise _status_error(response, current.host, _error_snippet(response))
            return _save(response, dest, cap)
        finally:
            response.close()
    raise DownloadError(f"more than {max_redirects} redirects; refusing to follow further")


def _save(response: httpx.Response, dest: Path, cap: int) -> str:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise DownloadError(f"the result is {int(declared)} bytes, over the {cap} byte limit")
    content_type = _content_type(response)
    video = content_type.startswith("video/")
    if not video and content_type not in ("application/octet-stream", "binary/octet-stream", ""):
        raise DownloadError(f"the result is {content_type!r}, not a video")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    written = 0
    head = b""
    try:
        with partial.open("wb") as out:
            for chunk in response.iter_bytes(_CHUNK):
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                written += len(chunk)
                if written > cap:
                    raise DownloadError(f"the result is over the {cap} byte limit")
                out.write(chunk)
        if written == 0:
            raise DownloadError("the result is empty", reason="no_output")
        if not video:
            if not _looks_like_mp4(head):
                raise DownloadError("the result is not a video (no MP4 signature)")
            content_type = "video/mp4"
        partial.replace(dest)
    except httpx.TransportError as exc:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"the result download broke off: {type(exc).__name__}", permanent=False
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return content_type


def error_text(payload: Any) -> str:
    """The human part of an error body in any of the shapes gateways use."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, list):
        return "; ".join(filter(None, (error_text(item) for item in payload)))
    if isinstance(payload, dict):
        for key in ("errorMessage", "message", "error", "detail", "msg", "error_message"):
            if payload.get(key):
                return error_text(payload[key])
    return ""


# --- Classifying gateway answers -------------------------------------------------

_QUOTA_WORDS = ("insufficient", "quota", "credit", "balance", "payment required", "余额")
_MAX_MESSAGE = 500


def json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def gateway_message(response: httpx.Response, secrets: tuple[str, ...]) -> str:
    """The gateway's own words about a failure, short and free of secrets."""
    payload = json_or_none(response)
    text = error_text(payload) if payload is not None else ""
    if not text:
        text = response.text.strip()
    text = " ".join(text.split())[:_MAX_MESSAGE]
    return redact(text, *secrets)


def _reason_for(status: int, message: str) -> str:
    lowered = message.lower()
    if status == 402 or any(word in lowered for word in _QUOTA_WORDS):
        return "quota"
    if status in (401, 403):
        return "auth"
    if status in (400, 422):
        return "validation"
    return "upstream_error"


def create_error(label: str, response: httpx.Response, secrets: tuple[str, ...]) -> ProviderError:
    """Classify a non-2xx answer to a create. Only provable refusals are retryable."""
    status = response.status_code
    message = gateway_message(response, secrets)
    text = f"{label} refused the job (HTTP {status})" + (f": {message}" if message else "")
    if status in (408, 429, 503):
        return SubmitNotAccepted(
            text,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            status_code=status,
        )
    if status >= 500:
        return SubmitOutcomeUnknown(
            f"{label} answered HTTP {status} to a create; the job may exist upstream"
            + (f": {message}" if message else ""),
            status_code=status,
        )
    if 300 <= status < 400:
        return ProviderError(
            f"{label} redirected a create (HTTP {status}); check the gateway URL",
            permanent=True,
            reason="upstream_error",
            status_code=status,
        )
    return ProviderError(
        text, permanent=True, reason=_reason_for(status, message), status_code=status
    )


def create_transport_error(label: str, exc: httpx.TransportError) -> ProviderError:
    """Connect failures sent nothing; anything later may have reached the gateway."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return SubmitNotAccepted(f"{label} could not be reached ({kind}); nothing was sent")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ProviderError(
            f"{label} URL is not usable ({kind}); check the configuration",
            permanent=True,
            reason="upstream_error",
        )
    return SubmitOutcomeUnknown(
        f"{label} did not answer a create ({kind}); the job may exist upstream"
    )


def poll_error(label: str, response: httpx.Response, secrets: tuple[str, ...]) -> ProviderError:
    """Classify a non-2xx answer to a status read. Reads are safe to repeat."""
    status = response.status_code
    message = gateway_message(response, secrets)
    text = f"{label} answered HTTP {status}" + (f": {message}" if message else "")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in (404, 408, 425, 429) or status >= 500:
        # 404 right after a create is eventual consistency; the caller's
        # deadline bounds how long we believe that.
        return ProviderError(text, permanent=False, retry_after=retry_after, status_code=status)
    return ProviderError(
        text, permanent=True, reason=_reason_for(status, message), status_code=status
    )


def poll_transport_error(label: str, exc: httpx.TransportError) -> ProviderError:
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ProviderError(
            f"{label} URL is not usable ({type(exc).__name__})",
            permanent=True,
            reason="upstream_error",
        )
    return ProviderError(f"{label} could not be read ({type(exc).__name__})", permanent=False)


def first_str(mapping: Any, *keys: str) -> str:
    """The first non-empty string (or number) under one of `keys`."""
    if not isinstance(mapping, dict):
        return ""
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return ""


_FILTER_WORDS = re.compile(
    r"safety|policy|policies|filtered|blocked|violat|sensitive|prohibited|\brai\b|"
    r"responsible ai|harmful|moderation",
    re.IGNORECASE,
)


def failure_reason(message: str, default: str = "upstream_error") -> str:
    """content_filtered when the gateway's words say a safety filter stopped it."""
    return "content_filtered" if _FILTER_WORDS.search(message or "") else default


class ClientHolder:
    """One lazily built client per provider instance, closed by `close()`.

    Built on first use so that listing providers (the registry does that on
    every page) opens nothing.
    """

    def __init__(self, factory: Callable[[], httpx.Client]) -> None:
        self._factory = factory
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        with self._lock:
            if self._client is None or self._client.is_closed:
                self._client = self._factory()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
