"""What every registered gateway must do with recorded answers (httpx.MockTransport).

Parametrised over the registry's gateways (tests/providers/contracts.py); each
gateway's own quirks stay in its own test module.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from studio.providers.base import ProviderError, SubmitNotAccepted, SubmitOutcomeUnknown
from tests.providers.conftest import SECRET
from tests.providers.contracts import GATEWAYS, PAYLOADS, GatewayContract, gateway_names

# Key echoes in the two error shapes gateways use (NestJS and OpenAI).
KEY_ECHOES = [
    httpx.Response(401, json={"statusCode": 401, "message": f"Invalid token Bearer {SECRET}"}),
    httpx.Response(403, json={"error": {"message": f"key {SECRET} is banned"}}),
    httpx.Response(400, json={"statusCode": 400, "message": f"bad header Bearer {SECRET}"}),
]


def cases(key: str) -> list[tuple[GatewayContract, str]]:
    """(gateway, payload name) for every payload a gateway lists under `key`."""
    return [(g, name) for g in GATEWAYS for name in g.facts[key]]


def ids(case: object) -> str:
    return str(case)


# -- registration -----------------------------------------------------------------


def test_every_registered_gateway_has_recorded_payloads_and_a_contract() -> None:
    assert set(gateway_names()) >= {"mountsea", "openai"}
    for name in gateway_names():
        facts = GatewayContract(name).facts
        assert {"request", "create_path", "created", "refused", "not_accepted"} <= set(facts)
        for listed in (*facts["refused"], *facts["not_accepted"], *facts["outcome_unknown"]):
            assert (PAYLOADS / name / f"{listed}.json").is_file(), listed


def test_every_provider_names_settings_that_exist_and_are_documented(settings) -> None:
    from pathlib import Path

    from studio.providers import registry

    root = Path(__file__).resolve().parents[2]
    example = (root / ".env.example").read_text()
    readme = (root / "README.md").read_text()
    assert registry.PROVIDERS  # the loop below has providers to look at
    for name in registry.PROVIDERS:
        names = registry.provider_class(name).setting_names
        assert names, name
        for setting in names:
            assert hasattr(settings, setting), setting
            assert f"\n{setting}=" in example, setting
            assert f"`{setting}`" in readme, setting


# -- configuration ------------------------------------------------------------------


def test_a_gateway_without_a_key_or_url_is_not_configured(contract: GatewayContract) -> None:
    assert not contract.make(base_url="https://g.example", api_key="").is_configured()
    assert not contract.make(base_url="", api_key="k").is_configured()
    assert contract.make(base_url="https://g.example", api_key="k").is_configured()


def test_closing_the_provider_twice_is_harmless(contract: GatewayContract, gateway_replay) -> None:
    provider, _ = gateway_replay(contract.payload(contract.facts["created"][0]))
    provider.submit(contract.request())
    provider.close()
    provider.close()
    with contract.make(base_url="https://g.example", api_key="k") as other:
        assert other.is_configured()


# -- creates: exactly once -------------------------------------------------------------


def test_a_create_names_its_upstream_id(contract: GatewayContract, gateway_replay) -> None:
    name, upstream_id = contract.facts["created"]
    provider, recorder = gateway_replay(contract.payload(name))
    assert provider.submit(contract.request()).upstream_id == upstream_id
    assert recorder.last.method == "POST"
    assert recorder.last.url.path == contract.create_path


def test_a_prompt_exactly_at_the_limit_is_sent(contract: GatewayContract, gateway_replay) -> None:
    provider, recorder = gateway_replay(contract.payload(contract.facts["created"][0]))
    provider.submit(contract.request(prompt="x" * contract.cls.max_prompt_chars))
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(("contract", "name"), cases("refused"), ids=ids)
def test_refused_creates_are_permanent_with_the_gateways_message(
    contract: GatewayContract, name: str, gateway_replay
) -> None:
    provider, _ = gateway_replay(contract.payload(name))
    with pytest.raises(ProviderError) as caught:
        provider.submit(contract.request())
    error = caught.value
    assert type(error) is ProviderError
    assert error.permanent
    assert error.reason == contract.facts["refused"][name]
    assert error.status_code == int(name.split("_")[1])


def test_a_refusal_carries_the_gateways_words(contract: GatewayContract, gateway_replay) -> None:
    name, words = contract.facts["refusal_words"]
    provider, _ = gateway_replay(contract.payload(name))
    with pytest.raises(ProviderError, match=words):
        provider.submit(contract.request())


@pytest.mark.parametrize(("contract", "name"), cases("not_accepted"), ids=ids)
def test_429_and_503_mean_the_job_was_not_accepted(
    contract: GatewayContract, name: str, gateway_replay
) -> None:
    provider, _ = gateway_replay(contract.payload(name))
    with pytest.raises(SubmitNotAccepted) as caught:
        provider.submit(contract.request())
    retry_after = contract.facts["not_accepted"][name]
    if retry_after == "http-date":
        assert caught.value.retry_after > 1000  # an HTTP-date far in the future
    else:
        assert caught.value.retry_after == retry_after


@pytest.mark.parametrize(("contract", "name"), cases("outcome_unknown"), ids=ids)
def test_answers_that_may_hide_a_created_task_are_outcome_unknown(
    contract: GatewayContract, name: str, gateway_replay
) -> None:
    provider, _ = gateway_replay(contract.payload(name))
    with pytest.raises(SubmitOutcomeUnknown) as caught:
        provider.submit(contract.request())
    assert not caught.value.permanent


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (httpx.ConnectError("refused"), SubmitNotAccepted),
        (httpx.ConnectTimeout("slow"), SubmitNotAccepted),
        (httpx.ReadTimeout("slow"), SubmitOutcomeUnknown),
        (httpx.WriteTimeout("slow"), SubmitOutcomeUnknown),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            SubmitOutcomeUnknown,
        ),
        (httpx.RemoteProtocolError("dropped"), SubmitOutcomeUnknown),
        (httpx.ReadError("reset"), SubmitOutcomeUnknown),
    ],
)
def test_network_failures_on_create_are_classified_by_what_may_have_been_sent(
    contract: GatewayContract, gateway_replay, exc, kind
) -> None:
    provider, _ = gateway_replay(exc)
    with pytest.raises(kind):
        provider.submit(contract.request())


# -- the key ---------------------------------------------------------------------------


@pytest.mark.parametrize("echo", KEY_ECHOES, ids=["nestjs-401", "openai-403", "nestjs-400"])
def test_the_key_never_appears_in_an_error_message(
    contract: GatewayContract, gateway_replay, echo: httpx.Response
) -> None:
    provider, _ = gateway_replay(echo)
    with pytest.raises(ProviderError) as caught:
        provider.submit(contract.request())
    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.message
    assert "[redacted]" in caught.value.message
    assert SECRET not in repr(provider)


def test_no_log_line_carries_the_key(contract: GatewayContract, gateway_replay, caplog) -> None:
    provider, _ = gateway_replay(KEY_ECHOES[2])
    with (
        caplog.at_level(logging.DEBUG),
        caplog.at_level(logging.DEBUG, logger="httpx"),
        pytest.raises(ProviderError),
    ):
        provider.submit(contract.request())
    assert caplog.records  # httpx did log the call
    assert SECRET not in caplog.text


# -- polling ---------------------------------------------------------------------------


@pytest.mark.parametrize(("contract", "name"), cases("poll_errors"), ids=ids)
def test_poll_errors_are_retryable_unless_the_request_itself_is_wrong(
    contract: GatewayContract, name: str, gateway_replay
) -> None:
    permanent, retry_after = contract.facts["poll_errors"][name]
    provider, _ = gateway_replay(contract.payload(name))
    with pytest.raises(ProviderError) as caught:
        provider.poll("t")
    assert caught.value.permanent is permanent
    assert caught.value.retry_after == retry_after


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("x"), httpx.ReadTimeout("x"), httpx.RemoteProtocolError("x")]
)
def test_network_failures_on_poll_are_transient(
    contract: GatewayContract, gateway_replay, exc
) -> None:
    provider, _ = gateway_replay(exc)
    with pytest.raises(ProviderError) as caught:
        provider.poll("t")
    assert not caught.value.permanent
    assert not isinstance(caught.value, SubmitOutcomeUnknown | SubmitNotAccepted)
