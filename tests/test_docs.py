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


def _paths_named_in(doc: Path) -> set[str]:
    """Repository paths a document names in backticks (`studio/jobs/states.py`)."""
    named = set(
        re.findall(r"`((?:studio|static|sandbox|tests|benchmarks|docs)/[\w./-]*)`", doc.read_text())
    )
    return {name for name in named if "<" not in name}


def test_every_path_the_readme_and_the_provider_checklist_name_exists() -> None:
    for doc in (ROOT / "README.md", ROOT / "docs" / "providers.md"):
        named = _paths_named_in(doc)
        assert len(named) >= 5, (doc.name, named)
        missing = sorted(name for name in named if not (ROOT / name).exists())
        assert not missing, (doc.name, missing)
