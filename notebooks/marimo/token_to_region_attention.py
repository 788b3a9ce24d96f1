# The attention explorer of notebooks/02_token_to_region_attention.ipynb as a marimo notebook.
#   marimo edit notebooks/marimo/token_to_region_attention.py

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo

    from lxmert_viz.viz import AttentionExplorer, notebook_setup, sample_scenes

    kit = notebook_setup(inline=False)
    scene = sample_scenes()[2]  # six objects, one circle
    result = kit.ask(scene["path"], "what color is the circle?")
    return AttentionExplorer, mo, result


@app.cell
def _(mo, result):
    mo.md(
        f"""
        # Token-to-region attention, live

        The question *{result.question}* (answer **{result.answer}**). Pick a **family** (`l2v`: words
        look at regions; `v2l`: regions look at words; or any self-attention), a layer, a head (or
        the mean / max over heads) and a query; click a heatmap row to make it the query, or a cell
        of the head grid to open that layer and head.
        """
    )
    return


@app.cell
def _(AttentionExplorer, mo, result):
    explorer = mo.ui.anywidget(AttentionExplorer(result))
    explorer
    return (explorer,)


@app.cell
def _(explorer, mo):
    # marimo re-runs this cell whenever the explorer's state changes
    state = explorer.widget.state
    mo.md(f"shown: `{state['family']}` layer {state['layer']}, head {state['head']}, query **{state['query_label']}**")
    return


if __name__ == "__main__":
    app.run()
