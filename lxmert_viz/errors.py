"""The kit's own error types: every bad input raises one of these, with a message that names the
input (file, key, field, shape, value) and says what would be valid.

Each subclasses the built-in type that callers already catch, so ``except ValueError`` (or
``TypeError``, ``FileNotFoundError``) code keeps working, and ``except LxmertVizError`` catches
every refusal of this kit at once:

| error                  | built-in base        | raised for                                          |
|------------------------|----------------------|-----------------------------------------------------|
| `InputError`           | ValueError           | any bad value (base of the domain errors below)      |
| `InputTypeError`       | TypeError            | an object of the wrong kind                          |
| `InputIndexError`      | IndexError           | a position, layer or head out of range               |
| `UnknownNameError`     | KeyError             | a family, hook point or statistic that does not exist |
| `MissingFileError`     | FileNotFoundError    | a file or folder that is not there                   |
| `ImageError`           | ValueError           | an image that cannot be read or used                 |
| `ImageTypeError`       | ImageError, TypeError | something that is not an image (bool, complex, ...) |
| `QuestionError`        | ValueError           | an empty, unreadable or too long question            |
| `UnknownWordsError`    | QuestionError        | no word of the question that the model knows         |
| `ModelInputError`      | ValueError           | model inputs: NaN, shapes, ranges, pixel boxes       |
| `ModelInputTypeError`  | ModelInputError, TypeError | model inputs of the wrong dtype or kind        |
| `ConfigError`          | ValueError           | a config field out of range                          |
| `ConfigTypeError`      | ConfigError, TypeError | a config field of the wrong type                   |
| `CheckpointError`      | ValueError           | weights, vocabularies and answer files               |
| `FeatureFileError`     | ValueError           | feature TSV / npz files                              |

`UnknownWordsWarning` is the warning given instead of `UnknownWordsError` when the caller asks to
go on (``unknown="warn"``).

Example:
    >>> try:
    ...     raise ConfigError("hidden_size must be >= 1, got 0", field="hidden_size")
    ... except ValueError as err:
    ...     (type(err).__name__, err.field)
    ('ConfigError', 'hidden_size')
"""
from __future__ import annotations


class LxmertVizError(Exception):
    """Base of every error this kit raises for bad input."""


class InputError(LxmertVizError, ValueError):
    """A value the kit cannot use."""


class InputTypeError(LxmertVizError, TypeError):
    """An object of the wrong kind."""


class UnknownNameError(LxmertVizError, KeyError):
    """A name that does not exist: an attention family, a hook point, a statistic (the message lists valid ones)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InputIndexError(LxmertVizError, IndexError):
    """A position, layer or head index out of range (the message names the valid range)."""


class MissingFileError(LxmertVizError, FileNotFoundError):
    """A file or folder that is not there."""


class ImageError(InputError):
    """An image that cannot be read or used (format, size, truncation, values)."""


class ImageTypeError(ImageError, TypeError):
    """Something that is not an image, or an array of a kind that is not pixels."""


class QuestionError(InputError):
    """A question the tokenizer cannot read (empty, lone surrogates, only control characters, too long)."""


class QuestionTypeError(QuestionError, TypeError):
    """A question that is not a string."""


class UnknownWordsError(QuestionError):
    """A question with no content word the model's vocabulary knows.

    Attributes:
        words: the unknown words, in order.
    """

    def __init__(self, message: str, words: tuple[str, ...] = ()):
        super().__init__(message)
        self.words = tuple(words)


class UnknownWordsWarning(UserWarning):
    """The model answers a question none of whose content words it knows (``unknown="warn"``)."""


class ModelInputError(InputError):
    """Model inputs that do not fit the model (shapes, ranges, NaN, pixel boxes)."""


class ModelInputTypeError(ModelInputError, TypeError):
    """Model inputs of the wrong dtype or kind."""


class ConfigError(InputError):
    """A configuration field out of range.

    Attributes:
        field: the field's name (None when the config as a whole is wrong).
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ConfigTypeError(ConfigError, TypeError):
    """A configuration field of the wrong type."""


class CheckpointError(InputError):
    """A checkpoint that cannot be loaded as it is (keys, shapes, dtypes, values, files)."""


class FeatureFileError(InputError):
    """A feature file (TSV, npz, cache entry) that cannot be read as regions."""


__all__ = [
    "CheckpointError", "ConfigError", "ConfigTypeError", "FeatureFileError", "ImageError", "ImageTypeError",
    "InputError", "InputIndexError", "InputTypeError", "LxmertVizError", "MissingFileError", "ModelInputError",
    "ModelInputTypeError", "QuestionError", "QuestionTypeError", "UnknownNameError", "UnknownWordsError", "UnknownWordsWarning",
]
