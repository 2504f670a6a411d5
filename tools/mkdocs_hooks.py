"""mkdocs hooks: generate the API reference and the zoo pages at build time.

Named in `mkdocs.yml` (`hooks:`), a plain mkdocs feature (no plugin, no
network). Pages already on disk win over generated ones, so a committed
`docs/zoo/index.md` is used as it is.
"""

import pathlib
import sys

TOOLS = pathlib.Path(__file__).resolve().parent
for path in (str(TOOLS), str(TOOLS.parent)):
    if path not in sys.path:
        sys.path.insert(0, path)

import gen_api_docs  # noqa: E402
import gen_zoo_table  # noqa: E402
from mkdocs.structure.files import File  # noqa: E402


def on_files(files, config):
    pages = dict(gen_zoo_table.zoo_pages())
    pages.update(gen_api_docs.api_pages())
    for rel, text in pages.items():
        if files.get_file_from_path(rel) is not None:
            continue
        files.append(File.generated(config, rel, content=text))
    return files
