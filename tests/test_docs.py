"""Every environment variable Studio reads is documented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _variables_read() -> set[str]:
    found: set[str] = set()
    sources = [ROOT / "config" / "settings.py", *(ROOT / "studio").rglob("*.py")]
    for path in sources:
        text = path.read_text()
        found |= set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z_0-9]+)"', text))
        found |= set(re.findall(r'os\.environ\.get\("([A-Z_0-9]+)"', text))
    # Set by the process that starts Django, not configuration.
    return found - {"DJANGO_SETTINGS_MODULE"}


def test_every_variable_is_in_env_example_and_the_readme() -> None:
    variables = _variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "STUDIO_MOUNTSEA_KEY"} <= variables
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    missing_example = sorted(v for v in variables if f"{v}=" not in example)
    missing_readme = sorted(v for v in variables if f"`{v}`" not in readme)
    assert not missing_example, missing_example
    assert not missing_readme, missing_readme
