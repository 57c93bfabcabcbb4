"""What every registered gateway must do against the sandbox gateway over real HTTP.

Parametrised over the registry's gateways (tests/providers/contracts.py); the
sandbox speaks each gateway's documented contract and injects the faults. Each
gateway's own quirks stay in test_sandbox_<name>.py.
"""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import av
import pytest

from studio.providers.base import ProviderError, SubmitNotAccepted, SubmitOutcomeUnknown
from tests.providers.conftest import TEST_TIMEOUT, wait_terminal
from tests.providers.contracts import GatewayContract


def finished_video(contract: GatewayContract, provider, **kw: object):
    submission = provider.submit(contract.request(**kw))
    result, _ = wait_terminal(provider, submission.upstream_id)
    return submission, result


def test_a_video_is_made_and_downloads_as_a_real_mp4(
    contract: GatewayContract, sandbox, on_sandbox, tmp_path: Path
) -> None:
    submission, result = finished_video(contract, on_sandbox)
    assert result.state == "succeeded"
    dest = tmp_path / "video.mp4"
    assert on_sandbox.download(submission.upstream_id, result, dest) == "video/mp4"
    with av.open(str(dest)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 640, 360)
    assert sandbox.stats()["creates"] == {contract.create_path: 1}


def test_a_portrait_job_gives_a_portrait_video(
    contract: GatewayContract, on_sandbox, tmp_path: Path
) -> None:
    submission, result = finished_video(contract, on_sandbox, aspect_ratio="9:16")
    on_sandbox.download(submission.upstream_id, result, tmp_path / "v.mp4")
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (360, 640)


def test_the_download_is_a_whole_mp4(contract: GatewayContract, on_sandbox, tmp_path: Path) -> None:
    submission, result = finished_video(contract, on_sandbox)
    on_sandbox.download(submission.upstream_id, result, tmp_path / "v.mp4")
    data = (tmp_path / "v.mp4").read_bytes()
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].frames == 48


def test_a_wrong_key_is_a_permanent_auth_error(
    contract: GatewayContract, sandbox, allow_private
) -> None:
    provider = contract.make(base_url=sandbox.url, api_key="wrong", timeout=TEST_TIMEOUT)
    with provider, pytest.raises(ProviderError) as caught:
        provider.submit(contract.request())
    assert (caught.value.permanent, caught.value.reason, caught.value.status_code) == (
        True,
        "auth",
        401,
    )
    assert "wrong" not in caught.value.message


# -- create faults: exactly once ---------------------------------------------------


@pytest.mark.parametrize("fault", ["429=2", "503=2", "429=4", "503"])
def test_refusals_before_acceptance_are_retryable_and_create_nothing(
    contract: GatewayContract, sandbox, on_sandbox, fault: str
) -> None:
    sandbox.arm("create", fault)
    with pytest.raises(SubmitNotAccepted) as caught:
        on_sandbox.submit(contract.request())
    if "=" in fault:
        assert caught.value.retry_after == float(fault.split("=")[1])
    assert sandbox.creates == 0
    assert sandbox.stats()["create_attempts"] == {contract.create_path: 1}
    # The fault was armed once: the retry goes through.
    assert on_sandbox.submit(contract.request()).upstream_id
    assert sandbox.creates == 1


@pytest.mark.parametrize(
    "fault",
    ["500", "502", "read_timeout=2", "drop_after_create", "malformed_json", "missing_fields"],
)
def test_answers_lost_after_the_create_are_outcome_unknown_and_the_task_exists(
    contract: GatewayContract, sandbox, on_sandbox, fault: str
) -> None:
    sandbox.arm("create", fault)
    with pytest.raises(SubmitOutcomeUnknown):
        on_sandbox.submit(contract.request())
    assert sandbox.creates == 1
    assert sandbox.stats()["creates"] == {contract.create_path: 1}


def test_latency_slows_the_answer_but_it_arrives(
    contract: GatewayContract, sandbox, on_sandbox
) -> None:
    sandbox.arm("create", "latency=0.2")
    started = time.monotonic()
    assert on_sandbox.submit(contract.request()).upstream_id
    assert time.monotonic() - started >= 0.2


def test_a_gateway_that_is_not_listening_did_not_accept_the_job(
    contract: GatewayContract, allow_private
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        contract.make(
            base_url=f"http://127.0.0.1:{port}", api_key="k", timeout=TEST_TIMEOUT
        ) as provider,
        pytest.raises(SubmitNotAccepted, match="nothing was sent"),
    ):
        provider.submit(contract.request())


# -- poll faults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", ["429", "429=3", "500", "502", "503", "read_timeout=2", "drop", "malformed_json"]
)
def test_poll_faults_are_transient(
    contract: GatewayContract, sandbox, on_sandbox, fault: str
) -> None:
    upstream_id = on_sandbox.submit(contract.request()).upstream_id
    sandbox.arm("poll", fault)
    with pytest.raises(ProviderError) as caught:
        on_sandbox.poll(upstream_id)
    assert not caught.value.permanent
    if fault == "429=3":
        assert caught.value.retry_after == 3.0
    # The next poll is fine again.
    assert on_sandbox.poll(upstream_id).state in ("queued", "running", "succeeded")


@pytest.mark.parametrize("fault", ["unknown_status", "missing_fields"])
def test_odd_poll_answers_are_unknown_so_the_caller_keeps_polling(
    contract: GatewayContract, sandbox, on_sandbox, fault: str
) -> None:
    upstream_id = on_sandbox.submit(contract.request()).upstream_id
    sandbox.arm("poll", fault)
    assert on_sandbox.poll(upstream_id).state == "unknown"


def test_a_task_that_says_an_unknown_word_midway_still_finishes(
    contract: GatewayContract, sandbox, on_sandbox
) -> None:
    sandbox.arm("create", "unknown_status")
    submission = on_sandbox.submit(contract.request())
    result, seen = wait_terminal(on_sandbox, submission.upstream_id)
    assert "warming_up" in seen
    assert result.state == "succeeded"


def test_polling_an_unknown_task_is_a_transient_not_found(
    contract: GatewayContract, on_sandbox
) -> None:
    with pytest.raises(ProviderError) as caught:
        on_sandbox.poll("no-such-task")
    assert (caught.value.permanent, caught.value.status_code) == (False, 404)


# -- how tasks end ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "state", "reason"),
    [
        ("fail", "failed", "upstream_error"),
        ("timeout", "failed", "timeout"),
        ("cancel", "cancelled", "cancelled_upstream"),
    ],
)
def test_tasks_that_end_badly_are_mapped(
    contract: GatewayContract, sandbox, on_sandbox, fault, state, reason
) -> None:
    sandbox.arm("create", fault)
    _, result = finished_video(contract, on_sandbox)
    assert (result.state, result.fail_reason) == (state, reason)
    assert result.error_message


def test_an_expired_result_is_a_permanent_expired_error(
    contract: GatewayContract, sandbox, on_sandbox, tmp_path: Path
) -> None:
    sandbox.arm("create", "expire_result")
    submission, result = finished_video(contract, on_sandbox)
    assert result.state == "succeeded"
    with pytest.raises(ProviderError) as caught:
        on_sandbox.download(submission.upstream_id, result, tmp_path / "v.mp4")
    assert (caught.value.permanent, caught.value.reason, caught.value.status_code) == (
        True,
        "expired",
        410,
    )
    assert not (tmp_path / "v.mp4").exists()


def test_results_expire_after_their_lifetime(
    contract: GatewayContract, sandbox, on_sandbox, tmp_path: Path
) -> None:
    sandbox.configure(file_ttl=0.0)
    submission, result = finished_video(contract, on_sandbox)
    with pytest.raises(ProviderError, match="expired"):
        on_sandbox.download(submission.upstream_id, result, tmp_path / "v.mp4")


@pytest.mark.parametrize("fault", ["500", "503", "429", "read_timeout=2", "drop"])
def test_download_faults_are_transient(
    contract: GatewayContract, sandbox, on_sandbox, tmp_path: Path, fault: str
) -> None:
    submission, result = finished_video(contract, on_sandbox)
    sandbox.arm("download", fault)
    with pytest.raises(ProviderError) as caught:
        on_sandbox.download(submission.upstream_id, result, tmp_path / "v.mp4")
    assert not caught.value.permanent
    assert not (tmp_path / "v.mp4").exists()
    assert on_sandbox.download(submission.upstream_id, result, tmp_path / "v.mp4") == "video/mp4"


@pytest.mark.parametrize("phase", ["create", "download"])
def test_an_octet_stream_result_is_accepted_by_its_signature(
    contract: GatewayContract, sandbox, on_sandbox, tmp_path: Path, phase: str
) -> None:
    if phase == "create":
        sandbox.arm("create", "octet_stream")
    submission, result = finished_video(contract, on_sandbox)
    if phase == "download":
        sandbox.arm("download", "octet_stream")
    assert on_sandbox.download(submission.upstream_id, result, tmp_path / "v.mp4") == "video/mp4"
    assert sandbox.stats()["downloads_total"] == 1
