"""Sphinx configuration of epoll_py's documentation site (``make docs``).

The guides are MyST markdown (like the README, whose long sections moved
here); the API reference is autodoc over the docstrings, which are reST.
The build runs with ``-W``: every warning fails it.  The code the site
shows runs under pytest, in ``make docs`` and ``make test``: the docstrings'
examples as doctests, each with its module's names (which Sphinx's doctest
builder would not give them), and the pages' ``python`` blocks through
tests/test_doc_examples.py.
"""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

from sphinx.application import Sphinx

project = "epoll_py"
author = "the epoll_py authors"
project_copyright = "the epoll_py authors (BSD-3-Clause)"
# The one version literal is pyproject.toml's; this is the installed one.
release = importlib.metadata.version("epoll_py")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
# No intersphinx: the build must work with no network but the package index.

# The API reference: type hints in the signatures, members in source order;
# api.rst shows the base classes where they are part of the API (IntFlag...).
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_type_aliases = {"FileDescriptorLike": "FileDescriptorLike"}
# Defaults as written in the source (EventSet.IN, not <EventSet.IN: 1>).
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"epoll_py {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
pygments_style = "sphinx"


_TITLE = re.compile(r"^(=+|-+|~+|\^+)$")


def _titles_to_rubrics(  # noqa: PLR0917 - the signature Sphinx calls
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Section titles in a docstring ("Design note" over a row of dashes)
    become rubrics: docutils refuses sections inside a docstring, and the
    module docstrings' design notes are worth showing."""
    for i in range(len(lines) - 1):
        title, underline = lines[i], lines[i + 1]
        if title.strip() and _TITLE.match(underline) and len(underline) >= len(title.strip()):
            lines[i] = f".. rubric:: {title.strip()}"
            lines[i + 1] = ""


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-docstring", _titles_to_rubrics)
    return {"parallel_read_safe": True}
