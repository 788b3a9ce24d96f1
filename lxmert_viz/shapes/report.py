"""The evaluation's figures as a RESULTS.md page (``evaluate.evaluate``'s dict in, markdown out)."""
from __future__ import annotations

from .data import QTYPES


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _types_table(columns: list[tuple[str, dict]]) -> list[str]:
    """Accuracy per question type, one column per data set."""
    head = "| question type | " + " | ".join(name for name, _ in columns) + " |"
    lines = [head, "|---|" + "---|" * len(columns)]
    for t in (*QTYPES, "other"):
        cells = [f"{_pct(d['by_type'][t]['accuracy'])} ({d['by_type'][t]['n']})" if t in d["by_type"] else "–"
                 for _, d in columns]
        if any(c != "–" for c in cells):
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(f"**{_pct(d['accuracy'])}** ({d['questions']})" for _, d in columns) + " |")
    return lines


def _groups(d: dict) -> str:
    return ", ".join(f"{k} {_pct(v['accuracy'])} ({v['n']})" for k, v in d["by_group"].items())


def _objective_line(cfg: dict | None) -> list[str]:
    if not cfg:
        return []
    word = cfg.get("word_weight", 0)
    made = (f"with the word-referent objective (weight {word:g})" if word
            else "WITHOUT the word-referent objective (the control)")
    return [f"Trained {made}, plus the answer, region-label (weight {cfg.get('obj_weight')}), masked-word and "
            f"image-text matching (weight {cfg.get('itm_weight')}) losses; recipe in `train_config.json`.", ""]


def to_markdown(res: dict, command: str, train_config: dict | None = None, title: str = "Shapes-world model") -> str:
    """The RESULTS.md text of one model's figures."""
    lines = [f"# {title}: evaluation", "", f"Command: `{command}`", ""] + _objective_line(train_config)
    lines += ["## Answers", ""]
    cols = []
    if "easyvqa_test" in res:
        cols.append(("easy-vqa test", res["easyvqa_test"]))
    cols += [("held out, varied look", res["held_out"]), ("held out, plain look", res["held_out_plain"]),
             ("robustness set", res["robustness"])]
    lines += _types_table(cols)
    h, hp, r = res["held_out"], res["held_out_plain"], res["robustness"]
    lines += ["", f"easy-vqa's reference model: 93.8%. Held out: {h['scenes']} varied and {hp['scenes']} plain generated "
              f"scenes; robustness set: {r['scenes']} pictures drawn by `robustness.py` (no generator code, other "
              "palettes' colours, other sizes, backgrounds, anti-aliasing and JPEG).", ""]
    qb = res["question_only_baseline"]
    lines += [f"Question-only baseline (majority answer per question text): held out {_pct(qb['held_out'])}"
              + (f", easy-vqa test {_pct(qb['easyvqa_test'])} (easy-vqa reports 67.0%)" if "easyvqa_test" in qb else "")
              + ".", ""]
    p = res["pointing_game"]
    lines += ["## Pointing game", "",
              f"**{_pct(p['accuracy'])}** of {p['questions']} held-out questions that name one object ({p['rule']}; "
              f"chance {_pct(p['chance'])}).", "",
              "By the phrase naming the object: " + ", ".join(f"{k} {_pct(v['accuracy'])} ({v['n']})"
                                                               for k, v in p["by_phrase"].items())
              + ' (as in "the red circle", "the red shape", "the circle", "shape" in a one-object scene).', "",
              "| cross layer | mean over heads | " + " | ".join(f"head {h}" for h in range(_heads(p))) + " |",
              "|---|---|" + "---|" * _heads(p)]
    for layer, v in p["by_layer"].items():
        lines.append(f"| {layer.split()[-1]} | {_pct(v)} | "
                     + " | ".join(_pct(p["by_layer_head"][f"{layer}, head {h}"]) for h in range(_heads(p))) + " |")
    m, t, g = res["masked_words"], res["matching"], res["region_labels"]
    lines += ["", "## Pretraining heads", "",
              f"- masked words (`cls.predictions`, each colour or shape word of {m['words']} held-out true sentences "
              f"masked alone): **{_pct(m['with image']['accuracy'])}** with the image; "
              f"{_pct(m['objects masked']['accuracy'])} with the image's objects masked out (text only); chance "
              f"{_pct(m['chance']['colour'])} for a colour, {_pct(m['chance']['shape'])} for a shape",
              f"  - with the image: {_groups(m['with image'])}",
              f"  - objects masked: {_groups(m['objects masked'])}",
              f"- image-text matching (`cls.seq_relationship`, {t['sentences']} held-out sentences, "
              f"{_pct(t['matched_share'])} matched): **{_pct(t['with image']['accuracy'])}** with the image; "
              f"{_pct(t['objects masked']['accuracy'])} with the objects masked out; "
              f"{_pct(t['blind_by_text'])} for the majority label of the sentence text (blind)",
              f"  - with the image: {_groups(t['with image'])}",
              f"  - objects masked: {_groups(t['objects masked'])}",
              f"- region labels (`obj` head, colour x shape of {g['regions']} held-out regions, read with "
              f"{g['text']}): **{_pct(g['accuracy'])}** (colour {_pct(g['colour'])}, shape {_pct(g['shape'])}); "
              f"the region descriptor's own name {_pct(g['descriptor'])}; the most common label {_pct(g['majority'])}",
              f"  - on the robustness set: {_pct(r['region_labels']['accuracy'])} of {r['region_labels']['regions']} "
              f"regions (descriptor {_pct(r['region_labels']['descriptor'])})",
              "", f"Took {res['seconds']} s.", ""]
    return "\n".join(lines)


def _heads(p: dict) -> int:
    return len({k.split("head ")[1] for k in p["by_layer_head"]})
