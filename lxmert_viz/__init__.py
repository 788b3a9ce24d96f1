"""lxmert_viz: look inside LXMERT — every hidden state, all six attention families, on the image.

Public API (computation side; rendering lives in `lxmert_viz.viz`):
    from_pretrained(path_or_hub_id) -> Lxmert
    load(name=None) -> Kit            (no argument: the embedded shapes-world model)
    lxmert_viz.run.run(model, [Item | Row, ...]) -> Batch   the one door to the model
    Lxmert, LxmertConfig, LxmertOutput, VisionState, Result, Regions, Tokenizer, Tokens, Answers
    LxmertVizError                    (base of every error for bad input; the rest in `lxmert_viz.errors`)

The package: `model/` (the network in one file, its config, the family table, outputs, hook points
and checkpoint loading), `inputs/` (tokens, regions, answers, the one image opener, `Item`: a
prepared question), `run.py` (the one door to the model), `result.py` (the one object that crosses
to rendering), `kit.py` (model + tokenizer + answers + region extractor), `analysis/` (numbers
from results; data sets, `run` / `summarize` for statistics over a whole data set, the perturbation
benchmark), `explain/` (relevance methods, masking), `output_heads/` (masked words, matching,
region labels), `interventions/` (head ablation and patching on the model's hook points),
`features/` (the Visual Genome Faster R-CNN, feature files and their cache), `shapes/` (the
embedded shapes world and its training), `viz/` (every figure and widget; the only package that
imports matplotlib, plotly or ipywidgets).

Vocabulary, one word per idea in code, titles and prose:

| word           | means                                                                          |
|----------------|--------------------------------------------------------------------------------|
| family         | one of the six attention families: lang, vis, l2v, v2l, cross_lang, cross_vis  |
| stream         | ``lang`` or ``vis``: the two sides of the model                                |
| layer, head    | a layer of a family's encoder; an attention head (``head="mean"``)             |
| output head    | a task head on top of the model: ``qa`` (answers), ``pretraining``             |
| token          | a word piece the model sees ([CLS] and [SEP] included)                         |
| word           | what the user typed; a word may span several tokens                            |
| region         | one row of the visual input (the shapes world's row 0 is the whole-image scene) |
"""
from . import errors
from .errors import LxmertVizError
from .inputs import Answers, Regions, Tokenizer, Tokens
from .inputs.item import Item
from .kit import Kit, load
from .model import FAMILIES, Lxmert, LxmertConfig, LxmertOutput, VisionState
from .model.pretrained import from_pretrained
from .result import Result
from .run import Batch, Row

__version__ = "0.1.0"


__all__ = [
    "Answers", "FAMILIES", "Item", "Kit", "Lxmert", "LxmertConfig", "LxmertOutput", "LxmertVizError", "Regions",
    "Result", "Row", "Batch", "Tokenizer", "Tokens", "VisionState", "errors", "from_pretrained", "load",
]
