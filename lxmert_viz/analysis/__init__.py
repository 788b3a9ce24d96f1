"""Numbers computed from results (never drawn here; `lxmert_viz.viz` draws them), and the data-set
runner that computes them for every example of a data set.

One result:
    head_stats(result, family)            per (layer, head): attention entropy and maximum weight
    drift(result, stream, metric)         how each item's state moves through the cross layers
    pca_2d(x), state_points(result)       a joint 2-D projection of every hidden state

A data set (see `lxmert_viz.analysis.datasets`, `lxmert_viz.analysis.stats`, `schema`):
    run(dataset, stats, out, backend="local", batch_size=32, ...) -> RunInfo   Parquet shards + manifest
    summarize(run_dir) -> Summary         tables by (family, layer, head) and by question type
    head_atlas(dataset, out) -> AtlasTable  every head: attention statistics and its removal's effect
    read_records(run_dir, columns)        the records as one Arrow table
    result_for_record(kit, record)        the example behind a record, run again (every map)

Prepared items and the perturbation benchmark (a data-set run of its own; ``lxmert-viz perturbation``):
    shapes_examples(kit, n), examples_from_files(features, questions, tokenizer, answers) -> Items
    perturbation_benchmark(model, items, ..., protocol="kit"|"paper") -> PerturbationReport
    published_benchmark(model, items) -> PublishedReport  the published protocol exactly, beside its row
    crossmodal_ablation(kit, items) -> CrossModal  masked words without regions, region labels without words
"""
from .atlas import AtlasTable, head_atlas
from .batch import BatchWorker, MapsRequest
from .crossmodal import CrossModal, crossmodal_ablation, shapes_statements
from .datasets import Dataset, open_dataset
from .encode import Encoder
from .example import Example, FeatureRef, Referent, SceneImage
from .heads import head_stats
from .items import examples_from_files, shapes_examples
from .perturbation import PerturbationReport, perturbation_benchmark
from .published import PublishedReport, aopc_benchmark, published_benchmark
from .replay import record_image, result_for_record
from .run_info import RunInfo
from .runner import read_records, run
from .schema import load_map
from .states import DRIFT_METRICS, drift, pca_2d, state_points
from .stats import DEFAULT_STATS, STATS, Stat
from .summary import Summary, summarize

__all__ = [
    "AtlasTable", "BatchWorker", "CrossModal", "DEFAULT_STATS", "DRIFT_METRICS", "Dataset", "Encoder", "Example",
    "FeatureRef", "MapsRequest", "PerturbationReport", "PublishedReport", "Referent", "RunInfo", "STATS",
    "SceneImage", "Stat", "Summary", "aopc_benchmark", "crossmodal_ablation", "drift", "examples_from_files",
    "head_atlas", "head_stats", "load_map", "open_dataset", "pca_2d", "perturbation_benchmark",
    "published_benchmark", "read_records", "record_image", "result_for_record", "run", "shapes_examples",
    "shapes_statements", "state_points", "summarize",
]
