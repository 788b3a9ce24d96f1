"""Writing a model in `transformers`' layout: ``config.json`` and ``model.safetensors``."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import save_file

TIED_KEY = "cls.predictions.decoder.weight"


def save_checkpoint(model, directory: str | Path) -> Path:
    """Write ``model`` (an `Lxmert`) into ``directory`` (made if missing) so that `transformers` and
    `lxmert_viz.from_pretrained` load it; the tied masked-word decoder is stored once, as `transformers` does.

    Returns:
        The folder.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arch = {(): "LxmertModel", ("qa",): "LxmertForQuestionAnswering"}.get(model.output_heads, "LxmertForPreTraining")
    cfg = {**model.config.to_dict(), "architectures": [arch]}
    (directory / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if "pretraining" in model.output_heads and model.config.tie_word_embeddings:
        state.pop(TIED_KEY, None)  # tied: stored once
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    return directory
