"""Causal tools on the hook points (`lxmert_viz.model.hooks`): head ablation, head ranking, patching.

- `ask_ablated` (``kit.ask_ablated``): the answer with chosen heads removed, beside the full model's;
- `rank_heads` (``kit.rank_heads``): every head removed alone over a set of questions, ranked;
- `patch` / `patch_sweep` (``kit.patch`` / ``kit.patch_sweep``): run B with an activation of run A.
"""
from ..inputs.item import Item
from ..model.families import family_layers
from .ablation import Ablation, ablation, ablation_hooks, all_heads, ask_ablated, parse_heads, run_ablated
from .items import as_item
from .patching import Patch, PatchSweep, hook_names_of_stream, patch, patch_sweep, patching, site_stream
from .ranking import HeadRanking, rank_heads

__all__ = ["Ablation", "HeadRanking", "Item", "Patch", "PatchSweep", "ablation", "ablation_hooks", "all_heads",
           "as_item", "ask_ablated", "family_layers", "hook_names_of_stream", "parse_heads", "patch", "patch_sweep",
           "patching", "rank_heads", "run_ablated", "site_stream"]
