"""Inline code that names an API object becomes a link to its reference entry.

The rule, applied to every inline code span of every page (tutorials, README sections, docstrings),
except in headings and in code that is already a link:

1. The text is cut at its first ``(`` (``kit.ask(image, question)`` is read as ``kit.ask``, a call);
   what is left must be a dotted Python name, else the span stays as it is.
2. A name that is an entry itself (``lxmert_viz.analysis.run``), or is one after ``lxmert_viz.``
   (``viz.overlay``), links there.
3. A dotted name links to the entry it ends (``Result.attn`` → ``lxmert_viz.result.Result.attn``).
4. ``variable.member`` with a lower-case variable links to the member of the one class whose name,
   lower-cased, equals the variable, starts with it or ends with it (``kit.ask`` → ``Kit.ask``,
   ``result.labels`` → ``Result.labels``, ``qa.ask`` → ``QAWidget.ask``).
5. A bare name links to the module-level object of that name (``run_with_cache``, ``summarize``);
   a call (rule 1) only to a function or class (``explain(...)`` → the function, not the package).

A step links only when its candidates are one entry (several public names of one object count as
one); an ambiguous or unknown name stays plain code. Only ``lxmert_viz`` objects are linked.
"""
from __future__ import annotations

import re
from collections.abc import Mapping

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
MODULE_LEVEL = {"class", "exception", "function", "data", "module"}
CALLABLE = {"class", "exception", "function"}


def resolve(text: str, entries: Mapping[str, tuple[str, str]]) -> str | None:
    """The entry name that ``text`` links to under the rule above, or None.

    Args:
        text: an inline code span's text.
        entries: every Python-domain entry: full name -> (target, objtype), where ``target``
            identifies the documented object (aliases of one object share it).

    Returns:
        the full name of the entry to link to, or None to leave the span as code.
    """
    call = "(" in text
    name = text.split("(", 1)[0].strip()
    if not NAME.match(name):
        return None
    entries = {k: v for k, v in entries.items() if k.startswith("lxmert_viz")}
    for full in (name, f"lxmert_viz.{name}"):
        if full in entries and (not call or entries[full][1] not in ("module",)):
            return full
    parts = name.split(".")
    if len(parts) > 1:
        hit = _one(entries, [k for k in entries if k.endswith("." + name)])
        if hit:
            return hit
        var, member = parts[0], ".".join(parts[1:])
        if var.islower():
            classes = {k for k, (_, t) in entries.items() if t in ("class", "exception")
                       and _matches(var, k.rsplit(".", 1)[-1].lower())}
            return _one(entries, [f"{c}.{member}" for c in classes if f"{c}.{member}" in entries])
        return None
    kinds = CALLABLE if call else MODULE_LEVEL
    found = [k for k, (_, t) in entries.items() if k.rsplit(".", 1)[-1] == name and t in kinds
             and _module_level(k, entries)]
    return _one(entries, found)


def _matches(var: str, cls: str) -> bool:
    return cls == var or cls.startswith(var) or cls.endswith(var)


def _module_level(full: str, entries: Mapping[str, tuple[str, str]]) -> bool:
    """True when the entry's parent is a module (not a class)."""
    parent = full.rsplit(".", 1)[0]
    return entries.get(parent, ("", "module"))[1] == "module"


def _one(entries: Mapping[str, tuple[str, str]], names: list[str]) -> str | None:
    """The name to link to when all ``names`` are one documented object, else None."""
    targets = {entries[n][0] for n in names}
    if len(targets) != 1:
        return None
    # the documented name (the target's anchor) when it is among them, else the shortest
    return sorted(names, key=lambda n: (entries[n][0].split("#", 1)[-1] != n, len(n), n))[0]


def domain_entries(env) -> dict[str, tuple[str, str]]:
    """The Python domain's entries as ``resolve`` takes them."""
    return {name: (f"{e.docname}#{e.node_id}", e.objtype) for name, e in env.domains["py"].objects.items()}


class CodeLinks(SphinxPostTransform):
    """Wraps a linkable inline literal in a Python-domain reference (resolved by Sphinx afterwards)."""

    default_priority = 5  # before ReferencesResolver (10)

    def run(self, **kwargs) -> None:
        entries = domain_entries(self.env)
        for node in list(self.document.findall(nodes.literal)):
            if _inside(node, (nodes.reference, addnodes.pending_xref, nodes.title, addnodes.desc_signature)):
                continue
            target = resolve(node.astext(), entries)
            if target is None:
                continue
            ref = addnodes.pending_xref("", refdomain="py", reftype="obj", reftarget=target, refexplicit=True,
                                        refwarn=False, refdoc=self.env.docname)
            node.replace_self(ref)
            ref += node


def _inside(node, types) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, types):
            return True
        parent = parent.parent
    return False


def setup(app):
    app.add_post_transform(CodeLinks)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
