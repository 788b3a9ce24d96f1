"""Sphinx configuration of the lxmert_viz documentation site (built by ``bash scripts/docs.sh``).

The site is static HTML that works opened from disk with no network: the theme's own files, figures
as PNG/SVG files beside the pages, the notebooks executed by myst-nb with every output rendered from
its static mime type (a widget's kernel-free twin, never the widget-manager JavaScript from a CDN).
Pages generated at build time (never edited by hand, ignored by git): ``tutorials/`` (copies of
``notebooks/*.ipynb``), ``api/`` (one page per public package), ``_generated/`` (the architecture
figure, the family table, the command line's help, README's sections, the benchmark results).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

from parallel_execution import package_hash  # noqa: E402  (docs/_ext, on the path just above)

project = "lxmert_viz"
author = "the lxmert_viz authors"
copyright = "the lxmert_viz authors, MIT licence"
release = version = "0.1.0"

extensions = [
    "myst_nb",  # Markdown pages and executed notebooks (includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the package's Google-style Args / Returns / Example sections
    "docstring_fixes",  # docs/_ext: the docstrings' Markdown habits, read as reStructuredText
    "generated_pages",  # docs/_ext: pages made from the package and the repo at build time
    "parallel_execution",  # docs/_ext: the tutorials executed into the cache two at a time first
    "api_pages",  # docs/_ext: the API reference, one entry per public name, aliases in objects.inv
    "code_links",  # docs/_ext: inline code naming an API object becomes a link to its entry
]

root_doc = "index"
exclude_patterns = ["_build", "screenshots", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- HTML: a theme that ships every file it needs (no fonts, scripts or styles from a CDN) ---
html_theme = "furo"
html_title = "lxmert_viz"
html_static_path = ["_static"]
html_css_files = ["lxmert_viz.css"]
html_js_files: list = []
html_copy_source = False  # the .ipynb / .md sources are not needed to read the site
html_show_sourcelink = False
html_last_updated_fmt = None
# No page has math (myst's dollarmath is off), so Sphinx adds MathJax (a CDN script) to none;
# tests/test_docs.py fails on any request that is not file://.

# --- MyST / myst-nb ---
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("LXMERT_VIZ_DOCS_EXECUTE", "cache")
# The execution cache (jupyter-cache) matches a notebook by its code; the folder it lives in is
# named by a hash of the package and its assets, so after any change there every tutorial runs
# again (and, this setting having changed, Sphinx reads every page again, docstrings included).
nb_execution_cache_path = os.environ.get("LXMERT_VIZ_DOCS_CACHE") or str(
    DOCS / "_build" / ".jupyter_cache" / package_hash(ROOT))
nb_execution_timeout = 600
nb_execution_raise_on_error = True  # a failing tutorial fails the build
nb_execution_show_tb = True
nb_merge_streams = True
# No RequireJS / widget manager from a CDN: a widget is shown by the static HTML twin in its bundle.
nb_ipywidgets_js: dict = {}
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/javascript", None),
    ("dirhtml", "application/vnd.jupyter.widget-view+json", None),
    ("dirhtml", "application/javascript", None),
]

# --- API reference (autodoc + napoleon) ---
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False
autodoc_mock_imports: list = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True
# "Attributes:" sections give each field its entry, with its text (api_pages excludes those fields
# from autodoc's own members, so no field is described twice)
napoleon_use_ivar = False
# In docstrings (reStructuredText), `Name` is a reference to the API object when it resolves.
default_role = "py:obj"
add_module_names = False
python_maximum_signature_line_length = 100

# Headless, kernel-side environment of the executed notebooks: offline, no figure windows.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
# Progress bars mean nothing on a static page (and a tqdm bar is a widget with no static view).
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
