"""A local stand-in for the video gateways, for tests and for trying Studio without a key.

A development tool, not part of Studio: nothing under `studio/` imports it. It
is a Django app only so that `python manage.py sandbox_gateway --port 8765`
serves it; start Studio with the variables that command prints
(STUDIO_MOUNTSEA_URL/KEY, STUDIO_OPENAI_VIDEOS_URL/KEY/AUTH,
STUDIO_ALLOW_PRIVATE_URLS=1). Steer it with `POST /_sandbox/faults`; read its
counters at `GET /_sandbox/stats`. In tests, `sandbox.runner.start_sandbox()`
returns a `SandboxHandle` serving from a background thread (the suite's one
fixture is in `tests/sandbox.py`).

This package imports nothing at load time, so listing it in INSTALLED_APPS
costs the web process nothing (the server and its video encoder load only
when the command or a test starts it).
"""
