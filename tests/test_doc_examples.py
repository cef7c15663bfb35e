"""Every ```python block of README.md and of the docs/ pages runs as written.

The rule for writers: a fenced block tagged ``python`` is a program, and
must run on its own (its imports, its setup, loopback only, done within
seconds).  Code that is not meant to run is tagged otherwise (``rust``,
``sh``, ``text``); ``>>>`` sessions are run by ``make docs``'s doctest
builder.

Each block runs in a fresh interpreter, from the repository root (so it
imports this tree, built in place, as the doctests do): a fresh namespace,
and nothing it changes (an asyncio policy, a signal mask, a thread it left
running) reaches the next one.  Warnings are shown (``-W default``: an fd
left for the garbage collector is a ResourceWarning) and fail the block, as
does taking longer than the timeout.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60
_OPEN = re.compile(r"^(?P<indent>\s*)```python\s*$")


class Block(NamedTuple):
    path: Path
    line: int  # 1-based line of the opening fence
    code: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def python_blocks(path: Path) -> list[Block]:
    """The ```python fenced blocks of a markdown file, dedented to their fence."""
    blocks = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _OPEN.match(lines[i])
        i += 1
        if opening is None:
            continue
        indent, start, body = len(opening["indent"]), i, []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"{path}:{start}: a ```python block is never closed")
        i += 1
        blocks.append(Block(path, start, "\n".join(body) + "\n"))
    return blocks


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


BLOCKS = [block for path in documents() for block in python_blocks(path)]


def test_the_readme_and_the_guides_have_examples() -> None:
    """The extraction finds the blocks (a broken pattern would pass everything)."""
    found = {block.path.name for block in BLOCKS}
    assert len(python_blocks(ROOT / "README.md")) >= 3
    assert {"quickstart.md", "features.md", "migrating.md"} <= found


def test_the_extraction_reads_fences_as_markdown_does(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n```python\nx = 1\n```\n* item\n\n  ```python\n  if x:\n      y = 2\n  ```\n"
        "```pycon\n>>> 1\n```\n```sh\nmake test\n```\n"
    )
    assert [(b.line, b.code) for b in python_blocks(page)] == [
        (2, "x = 1\n"),
        (7, "if x:\n    y = 2\n"),
    ]


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_block_runs(block: Block) -> None:
    try:
        result = subprocess.run(
            [sys.executable, "-W", "default", "-c", block.code],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"{block.name} still ran after {TIMEOUT} s:\n{error.stdout!r}\n{error.stderr!r}"
        )
    assert result.returncode == 0, (
        f"{block.name} failed:\n{block.code}\n--- stdout\n{result.stdout}"
        f"\n--- stderr\n{result.stderr}"
    )
    assert "Warning" not in result.stderr, f"{block.name} warned:\n{result.stderr}"
