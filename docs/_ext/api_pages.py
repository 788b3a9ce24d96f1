"""The API reference: one entry for every public name, generated from the package at build time.

Public names are each package's ``__all__`` (``lxmert_viz`` and its subpackages) and, for a module
without ``__all__`` (``run``, ``result``, ``kit``), the names it defines without a leading
underscore. On ``builder-inited`` this writes ``docs/api/<module>.rst`` for every module in
`MODULES`; the same object is documented once, under its home (the public module whose name is the
longest prefix of the object's own ``__module__``; ties go to the earlier module in `MODULES`), and
its other public names (``lxmert_viz.Result`` beside ``lxmert_viz.result.Result``) get an entry in
the Python domain that points to that home, so they resolve as references and appear in
``objects.inv`` like any documented name. ``tests/test_docs.py`` compares every ``__all__`` with the
built ``objects.inv``.
"""
from __future__ import annotations

import importlib
import inspect
import types
from dataclasses import dataclass
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

# The public modules, in the order of the reference. ``lxmert_viz.model.hooks`` is not a package,
# but the tutorials use its ``run_with_cache`` / ``run_with_hooks`` by that path.
MODULES = [
    "lxmert_viz", "lxmert_viz.kit", "lxmert_viz.result", "lxmert_viz.run", "lxmert_viz.model",
    "lxmert_viz.model.hooks", "lxmert_viz.inputs", "lxmert_viz.explain", "lxmert_viz.analysis",
    "lxmert_viz.interventions", "lxmert_viz.output_heads", "lxmert_viz.features", "lxmert_viz.viz",
    "lxmert_viz.errors",
]
TITLES = {
    "lxmert_viz": "the package's top level",
    "lxmert_viz.kit": "model, tokenizer, answers and regions in one object",
    "lxmert_viz.result": "the one object that crosses to rendering",
    "lxmert_viz.run": "the one door to the model",
    "lxmert_viz.model": "the network, its config, families and checkpoint loading",
    "lxmert_viz.model.hooks": "hook points: run with hooks, run with a cache",
    "lxmert_viz.inputs": "tokens, regions, answers, the image opener",
    "lxmert_viz.explain": "relevance methods and masking",
    "lxmert_viz.analysis": "statistics of results and of whole data sets",
    "lxmert_viz.interventions": "head ablation and activation patching",
    "lxmert_viz.output_heads": "masked words, matching, region labels",
    "lxmert_viz.features": "the Visual Genome Faster R-CNN and feature files",
    "lxmert_viz.viz": "every figure and widget",
    "lxmert_viz.errors": "the kit's errors",
}


def public_names(modname: str) -> list[str]:
    """``__all__``, or the names the module defines itself without a leading underscore."""
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, o in vars(mod).items() if not n.startswith("_") and not isinstance(o, types.ModuleType)
            and getattr(o, "__module__", None) == modname]


@dataclass
class Name:
    module: str
    name: str
    obj: object

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


def _kind(obj) -> str:
    if isinstance(obj, types.ModuleType):
        return "module"
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj) and (inspect.isfunction(obj) or inspect.isbuiltin(obj) or hasattr(obj, "__wrapped__")):
        return "function"
    return "data"


def _key(obj, name: str):
    """Objects are the same entry when identical; a constant also needs the same name."""
    return (id(obj),) if _kind(obj) != "data" else (id(obj), name)


def plan() -> tuple[dict[str, list[Name]], dict[str, str]]:
    """Names per module in order, and the home (documented full name) of every public full name."""
    names = {m: [Name(m, n, getattr(importlib.import_module(m), n)) for n in public_names(m)] for m in MODULES}
    groups: dict[tuple, list[Name]] = {}
    for m in MODULES:
        for nm in names[m]:
            groups.setdefault(_key(nm.obj, nm.name), []).append(nm)
    home: dict[str, str] = {}
    for group in groups.values():
        obj = group[0].obj
        if isinstance(obj, types.ModuleType):
            canon = obj.__name__
        else:
            own = getattr(obj, "__module__", None) or ""
            prefixed = [g for g in group if own == g.module or own.startswith(g.module + ".")]
            pick = max(prefixed, key=lambda g: len(g.module)) if prefixed and _kind(obj) != "data" else None
            if pick is None:  # a constant: the first public module below the top level that names it
                pick = next((g for g in group if g.module != "lxmert_viz"), group[0])
            canon = pick.full
        for g in group:
            home[g.full] = canon
    return names, home


def described_fields(cls) -> list[str]:
    """Members (fields, properties, traits) that the class docstring's ``Attributes:`` section
    describes one by one: napoleon makes their entries, so autodoc must not make them again."""
    import re

    doc = inspect.getdoc(cls) or ""
    m = re.search(r"^Attributes:\s*\n((?:[ \t]+.*\n?|\s*\n)*)", doc, flags=re.M)
    if not m:
        return []
    lines = [line for line in m.group(1).splitlines() if line.strip()]
    indent = min(len(line) - len(line.lstrip()) for line in lines) if lines else 0
    names = {re.match(r"(\w+)\s*(\(.*?\))?:", line.strip()).group(1) for line in lines
             if len(line) - len(line.lstrip()) == indent and re.match(r"\w+\s*(\(.*?\))?:", line.strip())}
    members = set(dir(cls))  # properties, traits, class attributes
    for klass in inspect.getmro(cls):
        members |= set(getattr(klass, "__annotations__", {}))
    return sorted(names & members)


def _data_comment(modname: str, name: str) -> list[str]:
    """The ``#:`` comment or docstring after a constant's assignment, searched in the package's
    modules that are loaded (a re-exported constant is documented where it is assigned)."""
    import sys

    from sphinx.pycode import ModuleAnalyzer

    for m in [modname] + sorted(k for k in sys.modules if k.startswith(modname + ".")):
        try:
            docs = ModuleAnalyzer.for_module(m).find_attr_docs()
        except Exception:  # a compiled or source-less module: nothing to read
            continue
        if ("", name) in docs:
            return [line for line in docs[("", name)] if line is not None]
    return []


def _short_repr(obj, limit: int = 160) -> str:
    text = repr(obj).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def module_page(modname: str, names: list[Name], home: dict[str, str]) -> str:
    title = f"``{modname}``: {TITLES.get(modname, '')}".rstrip(": ")
    out = [title, "=" * len(title), "", f".. automodule:: {modname}", ""]
    own = [nm for nm in names if home[nm.full] == nm.full and _kind(nm.obj) != "module"]
    aliases = [nm for nm in names if home[nm.full] != nm.full or _kind(nm.obj) == "module"]
    if aliases:
        out += [".. rubric:: Public here, documented at their home", "", ".. list-table::", "   :widths: 30 70", ""]
        for nm in aliases:
            out += [f"   * - ``{nm.name}``", f"     - :py:obj:`{home[nm.full]}`"]
        out.append("")
    for nm in own:
        kind = _kind(nm.obj)
        if kind in ("class", "exception"):
            out += [f".. autoclass:: {nm.full}", "   :members:", "   :show-inheritance:"]
            described = described_fields(nm.obj)
            if described:  # their entries come from the docstring's Attributes section, with its text
                out.append(f"   :exclude-members: {', '.join(described)}")
            out.append("")
        elif kind == "function":
            out += [f".. autofunction:: {nm.full}", ""]
        else:
            out += [f".. py:data:: {nm.name}", f"   :module: {modname}", f"   :value: {_short_repr(nm.obj)}", ""]
            comment = _data_comment(modname, nm.name) or [f"A constant ({type(nm.obj).__name__})."]
            out += ["   " + line if line else "" for line in comment] + [""]
    return "\n".join(out) + "\n"


def index_page() -> str:
    rows = [f"| {{doc}}`{m} <{m}>` | {TITLES.get(m, '')} |" for m in MODULES]
    return "\n".join([
        "# API reference", "",
        "Generated from the docstrings at build time. Every public name has an entry: each package's",
        "`__all__`, and for the modules without one (`lxmert_viz.run`, `lxmert_viz.result`,",
        "`lxmert_viz.kit`) the names they define. An object that is public under several names",
        "(`lxmert_viz.Result` and `lxmert_viz.result.Result`) is documented once, at its home module;",
        "its other names link there.", "",
        "| module | what it holds |", "|---|---|", *rows, "",
        "```{toctree}", ":hidden:", "", *MODULES, "```", "",
    ])


def generate(app) -> None:
    out = Path(app.srcdir) / "api"
    out.mkdir(exist_ok=True)
    names, home = plan()
    app.env.lxmert_viz_api_home = home
    written = {"index.md"}
    _write(out / "index.md", index_page())
    for m in MODULES:
        _write(out / f"{m}.rst", module_page(m, names[m], home))
        written.add(f"{m}.rst")
    for old in out.iterdir():
        if old.name not in written:
            old.unlink()


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def add_aliases(app, env) -> None:
    """Every public name that is not its object's home gets the home's entry (and its members')."""
    domain = env.domains["py"]
    objects = domain.objects
    home = getattr(env, "lxmert_viz_api_home", {})
    from sphinx.domains.python import ObjectEntry

    for full, canon in home.items():
        if full == canon:
            continue
        if canon not in objects:
            logger.warning("API reference: %s (public as %s) has no entry", canon, full, type="lxmert_viz", subtype="api")
            continue
        entry = objects[canon]
        objects[full] = ObjectEntry(entry.docname, entry.node_id, entry.objtype, True)
        for name, member in list(objects.items()):  # Result.attn under lxmert_viz.Result.attn too
            if name.startswith(canon + ".") and not member.aliased:
                alias = full + name[len(canon):]
                objects.setdefault(alias, ObjectEntry(member.docname, member.node_id, member.objtype, True))


def setup(app):
    app.connect("builder-inited", generate)
    app.connect("env-check-consistency", add_aliases)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
