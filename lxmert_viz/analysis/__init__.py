"""Numbers computed from results (never drawn here; `lxmert_viz.viz` draws them).

    head_stats(result, family)            per (layer, head): attention entropy and maximum weight
    drift(result, stream, metric)         how each item's state moves through the cross layers
    pca_2d(x), state_points(result)       a joint 2-D projection of every hidden state
"""
from .heads import head_stats
from .states import DRIFT_METRICS, drift, pca_2d, state_points

__all__ = ["DRIFT_METRICS", "drift", "head_stats", "pca_2d", "state_points"]
