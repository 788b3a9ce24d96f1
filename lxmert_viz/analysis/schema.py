"""The record schema: one Parquet row per example.

Shape letters: L layers of a family, H heads, Q queries, K keys.

Columns every record has (what the example was):

| column | type | meaning |
|---|---|---|
| ``index`` | int64 | position of the example in the data set (0-based) |
| ``id`` | string | the example's id (a question id) |
| ``question`` | string | the question text |
| ``qtype`` | string | question type (shapes: color/shape/exist/count/relation/size; VQA: answer type), or null |
| ``image`` | string | the image: a path or ``shapes-scene:SEED:SIZE``; null for precomputed features |
| ``features`` | string | the features: ``npz:PATH`` or ``tsv:PATH@OFFSET#IMAGE_ID``; null for images |
| ``pad_to`` | int32 | TSV padding, or null |
| ``tokens`` | list<string> | the word pieces the model saw ([CLS] and [SEP] included) |
| ``n_tokens``, ``n_regions`` | int32 | T and the real region count R |
| ``gold`` | string | the gold answer, or null |
| ``answers`` | list<string> | every annotator's answer (VQA: ten), may be empty |
| ``answer_scores`` | string | JSON ``{answer: score}`` (LXMERT's files), or null |
| ``ref_char``, ``ref_word``, ``ref_region``, ``ref_box`` | int32, string, int32, list<float32> | the referent as the data set gave it, or null |
| ``referent_token``, ``referent_region`` | int32 | the naming token and the named region as resolved, or -1 |
| ``meta`` | string | JSON of the example's other fields (scene seed, image id, ...) |

Then the columns of each statistic asked for (`lxmert_viz.analysis.stats`; per (layer, head)
values are lists of L * H float32, layer-major), and, for the examples whose maps were asked for,
``maps.F`` (binary): family F's (L, H, Q, K) float16 map, little-endian, C order, with Q and K
``n_tokens`` or ``n_regions`` by the family's streams (`load_maps`); null for the others.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..errors import InputError, UnknownNameError
from ..model.families import FAMILIES, KEY_STREAM, QUERY_STREAM

BASE_COLUMNS: dict[str, pa.DataType] = {
    "index": pa.int64(), "id": pa.string(), "question": pa.string(), "qtype": pa.string(),
    "image": pa.string(), "features": pa.string(), "pad_to": pa.int32(), "tokens": pa.list_(pa.string()),
    "n_tokens": pa.int32(), "n_regions": pa.int32(), "gold": pa.string(), "answers": pa.list_(pa.string()),
    "answer_scores": pa.string(), "ref_char": pa.int32(), "ref_word": pa.string(), "ref_region": pa.int32(),
    "ref_box": pa.list_(pa.float32()), "referent_token": pa.int32(), "referent_region": pa.int32(),
    "meta": pa.string(),
}
MAP_COLUMNS: dict[str, pa.DataType] = {f"maps.{f}": pa.binary() for f in FAMILIES}


def base_record(index: int, encoded) -> dict:
    """The columns that say what the example was (the first table of the module docstring)."""
    ex = encoded.example
    row = ex.row() if ex is not None else {"id": str(index), "question": encoded.question}
    return {
        "index": int(index), "id": row["id"], "question": row["question"],
        "qtype": ex.qtype if ex is not None else (encoded.meta or {}).get("qtype"),
        "image": row.get("image"), "features": row.get("features"), "pad_to": row.get("pad_to"),
        "tokens": list(encoded.tokens.pieces), "n_tokens": len(encoded.tokens),
        "n_regions": int(encoded.regions.num_real), "gold": row.get("answer"), "answers": row.get("answers", []),
        "answer_scores": row.get("answer_scores"), "ref_char": row.get("ref_char"), "ref_word": row.get("ref_word"),
        "ref_region": row.get("ref_region"), "ref_box": row.get("ref_box"),
        "referent_token": int(encoded.referent_token), "referent_region": int(encoded.referent_region),
        "meta": row.get("meta"),
    }


def map_bytes(result, family: str) -> bytes:
    """Family ``family``'s (L, H, Q, K) map of a result as little-endian float16 bytes."""
    return np.ascontiguousarray(result.attentions[family].numpy(), dtype="<f2").tobytes()


def load_map(record: dict, family: str, layers: int, heads: int) -> np.ndarray:
    """The (L, H, Q, K) float16 map of ``family`` from a record that holds ``maps.<family>``."""
    blob = record.get(f"maps.{family}")
    if blob is None:
        raise UnknownNameError(f"record {record.get('id')!r} holds no map of {family!r} (maps are kept only for the "
                       "examples asked for with maps=)")
    size = {"lang": record["n_tokens"], "vis": record["n_regions"]}
    shape = (layers, heads, size[QUERY_STREAM[family]], size[KEY_STREAM[family]])
    return np.frombuffer(blob, dtype="<f2").reshape(shape)


def record_schema(columns: dict[str, pa.DataType]) -> pa.Schema:
    """The Arrow schema of records: the base columns, then ``columns`` in order."""
    fields = dict(BASE_COLUMNS)
    for name, typ in columns.items():
        if name in fields and fields[name] != typ:
            raise InputError(f"column {name!r} is declared twice with different types")
        fields[name] = typ
    return pa.schema(list(fields.items()))


def records_to_table(records: list[dict], schema: pa.Schema) -> pa.Table:
    """Records (dicts) as a table of ``schema``; a column a record lacks is null there.

    Raises:
        ValueError: a record has a column the schema does not know (a statistic returned a column
            it did not declare).
    """
    names = set(schema.names)
    for r in records:
        if r.get("index") is None or r.get("id") is None:
            raise InputError(f"a record lacks 'index' or 'id' (keys {sorted(r)[:8]}...): a custom batch function "
                             "must start each record from the example's base record (worker.records does)")
        extra = set(r) - names
        if extra:
            raise InputError(f"record {r.get('id')!r} has undeclared columns {sorted(extra)}; give the Stat "
                             "columns= for them")
    arrays = [pa.array([r.get(f.name) for r in records], type=f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def infer_columns(records: list[dict]) -> dict[str, pa.DataType]:
    """Types of columns no statistic declared, from their values (a custom function's columns)."""
    known = set(BASE_COLUMNS)
    out: dict[str, pa.DataType] = {}
    for name in dict.fromkeys(k for r in records for k in r):
        if name in known:
            continue
        values = [r.get(name) for r in records]
        typ = pa.array(values).type
        if pa.types.is_null(typ):
            raise InputError(f"column {name!r} is null in every record of the first batch, so its type is "
                             "unknown; declare it with Stat(columns=...)")
        if pa.types.is_floating(typ):
            typ = pa.float32()
        elif pa.types.is_list(typ) and pa.types.is_floating(typ.value_type):
            typ = pa.list_(pa.float32())
        out[name] = typ
    return out
