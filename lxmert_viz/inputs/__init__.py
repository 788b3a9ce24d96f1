"""What the model reads: questions as `Tokens`, images as `Regions`, answers by name, images opened once.

    Tokenizer, Tokens       WordPiece questions, each token mapped back to the word it came from
    Answers                 answer id <-> text, top-k
    Regions                 boxes + features of one image, whatever extractor made them
    open_image, image_key   the kit's one image opener and its content hash
    model_inputs            one question + one image's regions as the model's keyword arguments
"""
from .answers import Answers
from .image import image_key, open_image
from .model_inputs import model_inputs
from .regions import Regions
from .text import Tokenizer, Tokens

__all__ = ["Answers", "Regions", "Tokenizer", "Tokens", "image_key", "model_inputs", "open_image"]
