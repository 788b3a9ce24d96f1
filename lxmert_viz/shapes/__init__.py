"""The embedded shapes world and the training and evaluation of its two tiny LXMERTs.

``world/`` is the world itself (scenes, their varied look, questions and sentences, colour naming,
the pixel region extractor, easy-vqa, the vocabulary). Around it:

* ``visual_input.py``: the model's visual input (the scene row, then the extracted objects);
* ``data.py``, ``training_data.py``: tables of images, questions and sentences;
* ``train_config.py``, ``objectives.py``, ``train.py``: the recipe, the losses, the trainer
  (``shapes`` with the word-referent objective, ``shapes-plain`` without it);
* ``evaluate.py`` with ``batched.py``, ``pointing.py``, ``pretraining_metrics.py``, ``report.py``:
  the figures in ``assets/shapes*/RESULTS.md``;
* ``robustness.py``: the independent robustness set (another drawing routine, other palettes);
* ``sides.py``: the curriculum's auxiliary side questions; ``samples.py``: ``assets/samples``.
"""
