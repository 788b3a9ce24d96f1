"""Every object a user gets back prints short (at most ~1,000 characters: what it holds and how to see
more) and shows a compact HTML table in a notebook."""
from __future__ import annotations

import dataclasses

import pytest
import torch

import lxmert_viz
import lxmert_viz.explain as explain_package
from lxmert_viz import analysis, interventions, output_heads
from lxmert_viz.analysis import open_dataset, perturbation_benchmark, read_records, shapes_examples, summarize
from lxmert_viz.analysis import run as analysis_run
from lxmert_viz.analysis.atlas import head_atlas
from lxmert_viz.analysis.crossmodal import crossmodal_ablation
from lxmert_viz.analysis.published import aopc_benchmark, published_benchmark
from lxmert_viz.explain import ask_masked, explain
from lxmert_viz.explain.faithfulness import faithfulness, rank_methods
from lxmert_viz.features.batch import Failure, FolderReport
from lxmert_viz.inputs.item import Item
from lxmert_viz.printing import MAX_CHARS
from lxmert_viz.run import Row, run

SAMPLE = "assets/samples/scene_00.png"
Q = "what color is the circle?"


@pytest.fixture(scope="module")
def returned(kit, tmp_path_factory):
    """One of every public return type, from the embedded model."""
    torch.manual_seed(0)
    r = kit.ask(SAMPLE, Q)
    item = Item(r.tokens, r.regions, question=Q)
    out = tmp_path_factory.mktemp("printing")
    info = analysis_run("shapes:1", ["answer"], out / "run", progress=False)
    return {
        "Kit": kit, "Result": r, "Tokens": r.tokens, "Regions": r.regions, "Item": item,
        "Batch": run(kit.model, [item, Row(item, drop_regions=(1,))], kit.answers),
        "Fill": kit.fill(SAMPLE, "the [MASK] circle is on the left."),
        "Matching": kit.match(SAMPLE, ["the circle is black.", "the circle is red."]),
        "RegionLabels": kit.region_labels(SAMPLE),
        "Ablation": kit.ask_ablated(SAMPLE, Q, [("l2v", 2, "all")]),
        "Patch": kit.patch((SAMPLE, Q), (SAMPLE, "what color is the triangle?"), "hidden.lang.5"),
        "PatchSweep": kit.patch_sweep((SAMPLE, Q), (SAMPLE, "what color is the triangle?")),
        "HeadRanking": kit.rank_heads([(SAMPLE, Q)], families=["l2v"]),
        "MaskedRun": ask_masked(kit.model, r.model_inputs(), drop_regions=[1], tokens=r.tokens, regions=r.regions,
                                question=Q, answers=kit.answers),
        "Explanation": explain(r, "rollout"),
        "PerturbationReport": perturbation_benchmark(kit.model, shapes_examples(kit, 1), steps=2, limit=2,
                                                     progress=False),
        "RunInfo": info, "Summary": summarize(out / "run"), "Dataset": open_dataset("shapes:2"),
        "FolderReport": FolderReport(["a"], [], [Failure("b", out / "b.png", "not an image")]),
        "LoadingReport": kit.model.loading_report,
        "records": read_records(out / "run"),  # an Arrow table: pyarrow prints it short itself
        "AtlasTable": head_atlas("shapes:1", out / "atlas", model=kit, families=["l2v"], limit=2),
        "CrossModal": crossmodal_ablation(kit, "shapes:1", limit=2),
        "Faithfulness": faithfulness(kit.model, item, explain(r, "raw")),
        "MethodRanking": rank_methods(kit.model, list(shapes_examples(kit, 1))[:2], ("raw", "random")),
        "PublishedReport": published_benchmark(kit.model, list(shapes_examples(kit, 1))[:1], ("raw",)),
        "AopcReport": aopc_benchmark(kit.model, list(shapes_examples(kit, 1))[:1], ("raw",)),
    }


TYPES = ["Kit", "Result", "Tokens", "Regions", "Item", "Batch", "Fill", "Matching", "RegionLabels", "Ablation",
         "Patch", "PatchSweep", "HeadRanking", "MaskedRun", "Explanation", "PerturbationReport", "RunInfo",
         "Summary", "Dataset", "FolderReport", "LoadingReport", "AtlasTable", "CrossModal", "Faithfulness",
         "MethodRanking", "PublishedReport", "AopcReport"]


@pytest.mark.parametrize("name", TYPES)
def test_prints_short_and_says_what_it_is(returned, name):
    obj = returned[name]
    assert type(obj).__name__ == name
    text = repr(obj)
    assert len(text) <= MAX_CHARS + 50, f"{name} prints {len(text)} characters"
    assert name in text.split("\n")[0] or name == "Result" and text.startswith("Result")
    html = obj._repr_html_()
    assert html.startswith("<table") and len(html) < 4000, f"{name}: {len(html)} characters of HTML"


def test_the_arrow_records_print_short(returned):
    assert len(repr(returned["records"])) < 5000


def test_every_public_dataclass_result_is_covered():
    # a result type added to the package without a card would print its fields in full
    public = [getattr(m, n) for m in (analysis, explain_package, interventions, output_heads) for n in m.__all__]
    results = [c for c in public if isinstance(c, type) and dataclasses.is_dataclass(c)
               and not hasattr(c, "_repr_html_") and c.__name__ not in ("Referent", "FeatureRef", "SceneImage",
                                                                       "Example", "MapsRequest", "LabelNames", "Stat")]
    assert not results, f"dataclasses returned to users without a short print: {[c.__name__ for c in results]}"


def test_the_kit_prints_its_shape():
    assert repr(lxmert_viz.load()) == "Kit('shapes': 2/2/3 layers, hidden 128, 20 answers)"
