"""mkdocs hooks: generate the API reference and the zoo pages at build time.

Named in `mkdocs.yml` (`hooks:`), a plain mkdocs feature (no plugin, no
network). The zoo pages come from the preset folders and always replace a
copy on disk: `zoo/index.md` is generated from `zoo_configs/*/config.json`
(so it lists exactly the presets of the checkout) and `zoo/<name>.md` is
the folder's card `zoo_configs/<name>/README.md` itself. For the API pages
a file on disk wins over the generated one.
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
        existing = files.get_file_from_path(rel)
        if existing is not None:
            if not rel.startswith("zoo/"):
                continue
            files.remove(existing)
        files.append(File.generated(config, rel, content=text))
    return files
