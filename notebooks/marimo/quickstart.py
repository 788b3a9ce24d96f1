# The quickstart (notebooks/01_quickstart.ipynb) as a marimo notebook, with the kit's views live.
#   marimo edit notebooks/marimo/quickstart.py      (or: marimo run notebooks/marimo/quickstart.py)
# The views are anywidgets; marimo shows them through mo.ui.anywidget.

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo

    from lxmert_viz.viz import QAWidget, architecture_figure, notebook_setup, overlay, sample_scenes

    kit = notebook_setup(inline=False)  # seeds random/numpy/torch, one thread; the embedded kit
    scenes = sample_scenes()  # the shipped sample scenes and what is in them
    return QAWidget, architecture_figure, kit, mo, overlay, scenes


@app.cell
def _(mo):
    mo.md("""
    # Quickstart: what LXMERT does with an image and a question

    LXMERT reads a question and an image in two separate encoders, one per **stream** (`lang` for
    the words, `vis` for the image regions), then lets the two streams read each other in a stack
    of cross-modality layers. The model is the kit's embedded one, a tiny LXMERT trained on shape
    scenes; everything below runs offline.
    """)
    return


@app.cell
def _(architecture_figure, kit):
    architecture_figure(kit.model.config)
    return


@app.cell
def _(kit, mo, scenes):
    scene = scenes[0]
    result = kit.ask(scene["path"], "what color is the circle?")
    truth = next(o["color"] for o in scene["objects"] if o["shape"] == "circle")
    assert result.answer == truth, f"the circle is {truth}; the model answered {result.answer!r}"
    mo.md(f"objects: {', '.join(o['color'] + ' ' + o['shape'] for o in scene['objects'])} · "
          f"answers: {', '.join(f'{a} ({p:.3f})' for a, p in result.answers)}")
    return (result,)


@app.cell
def _(overlay, result):
    # where the question's content word ('circle') looks, last cross layer, mean over heads
    overlay(result)
    return


@app.cell
def _(mo):
    mo.md("""
    ## Ask your own questions

    Pick an image (or upload one), type a question and press **ask**; choose the word, the cross
    layer and the head whose `l2v` attention is drawn on the image.
    """)
    return


@app.cell
def _(QAWidget, kit, mo, scenes):
    samples = [(s["file"].removesuffix(".png"), s["path"]) for s in scenes]
    qa = mo.ui.anywidget(QAWidget(kit, samples, question="what color is the circle?"))
    qa
    return


if __name__ == "__main__":
    app.run()
