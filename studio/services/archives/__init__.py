"""Project archives: one zip with a manifest and the media, exported and imported whole.

`export_project` writes one (`export.py`), `import_project` reads one into a team
(`importing.py`), and `manifest.py` says what a manifest holds and checks it.
Backups of a whole Studio are another matter: see `studio/services/backups.py`.
"""

from studio.services.archives.export import export_project
from studio.services.archives.importing import ImportResult, import_project
from studio.services.archives.manifest import FORMAT_VERSION, ArchiveError

__all__ = ["FORMAT_VERSION", "ArchiveError", "ImportResult", "export_project", "import_project"]
