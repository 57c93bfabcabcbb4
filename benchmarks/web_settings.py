"""Settings for the web benchmark: Studio's own, plus a trivial baseline view."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.web_urls"
