"""The house holds (issue 26): docs/development.md's numbered "Which way imports go" list is
the truth the code follows, read here with ``ast`` from every module of src/loginguard.

- every app (and the root modules) is in the list, and every entry of the list exists;
- no import goes upward: an app imports only from its own layer or below, function-level
  imports included (``if TYPE_CHECKING:`` imports aside: they never run);
- no two apps import each other;
- at most 5 imports of another app inside functions, each with a comment on its line or
  the two lines above saying why it must be lazy."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "loginguard"
DOC = ROOT / "docs" / "development.md"
MAX_LAZY = 5


def layers() -> dict[str, int]:
    """App -> layer number, from the doc's list ("3. `users`" …)."""
    text = DOC.read_text()
    section = text[text.index("Which way imports go"):]
    section = section[:section.index("\n\n", section.index("\n1. "))]
    found: dict[str, int] = {}
    for number, rest in re.findall(r"^(\d+)\. (.*)$", section, re.M):
        for app in re.findall(r"`([a-z_]+)`", rest):
            assert app not in found, f"{app} is listed twice"
            found[app] = int(number)
    return found


def app_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


@dataclass(frozen=True)
class Import:
    source: str  # the importing app
    target: str  # the imported app
    where: str  # file:line
    lazy: bool  # inside a function
    commented: bool  # a comment on its line or the two before says why


def imports() -> list[Import]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = app_of(path)
        text = path.read_text()
        lines = text.split("\n")
        tree = ast.parse(text)
        typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test)
                       for node in ast.walk(block)}
        in_functions = {id(node) for function in ast.walk(tree)
                        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
                        for node in ast.walk(function)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] != "loginguard" or len(parts) < 2 or parts[1] == source:
                    continue
                nearby = " ".join(lines[max(node.lineno - 3, 0):node.lineno])
                found.append(Import(source, parts[1], f"{path.relative_to(ROOT)}:{node.lineno}",
                                    id(node) in in_functions, "lazy" in nearby.lower()))
    return found


def test_every_app_is_in_the_doc_list_and_every_entry_exists() -> None:
    listed = set(layers())
    present = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} | {
        p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert present - listed == set(), "apps missing from docs/development.md"
    assert listed - present == set(), "the list names apps that do not exist"


def test_no_import_goes_upward() -> None:
    layer = layers()
    upward = [f"{i.where}: {i.source} ({layer[i.source]}) imports {i.target} "
              f"({layer[i.target]})" for i in imports() if layer[i.target] > layer[i.source]]
    assert not upward, "\n".join(upward)


def test_no_two_apps_import_each_other() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for i in imports():
        edges[i.source].add(i.target)
    mutual = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a]
                     if a in edges.get(b, set())})
    assert not mutual, mutual


def test_few_lazy_imports_each_saying_why() -> None:
    lazy = [i for i in imports() if i.lazy]
    assert len(lazy) <= MAX_LAZY, [i.where for i in lazy]
    unexplained = [i.where for i in lazy if not i.commented]
    assert not unexplained, f"say why each must be lazy: {unexplained}"
