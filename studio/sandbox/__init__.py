"""A local stand-in for the video gateways, for tests and for trying Studio without a key."""

from studio.sandbox.server import DEFAULT_KEY, SandboxHandle, make_server, start_sandbox

__all__ = ["DEFAULT_KEY", "SandboxHandle", "make_server", "start_sandbox"]
