"""A local stand-in for the video gateways, for tests and for trying Studio without a key.

Run `python manage.py sandbox_gateway --port 8765` and start Studio with the
variables it prints (STUDIO_MOUNTSEA_URL/KEY, STUDIO_OPENAI_VIDEOS_URL/KEY/AUTH,
STUDIO_ALLOW_PRIVATE_URLS=1). Steer it with `POST /_sandbox/faults`; read its
counters at `GET /_sandbox/stats`. In tests, `start_sandbox()` returns a
`SandboxHandle` serving from a background thread.
"""

from studio.sandbox.runner import SandboxHandle, make_server, start_sandbox
from studio.sandbox.server import DEFAULT_KEY

__all__ = ["DEFAULT_KEY", "SandboxHandle", "make_server", "start_sandbox"]
