"""A run folder on disk: the manifest, the shards, and atomic writes.

    OUT/manifest.json            what was run (data set, model, statistics, settings) and the shards done
    OUT/shards/shard-00000.parquet   local backend: one file per shard of ``shard_size`` examples
    OUT/shards/part-00000/       Ray backend: one folder per segment (the files Ray's write_parquet wrote)

A shard is written to a hidden temporary name and renamed into place (`os.replace`, atomic on
POSIX and Windows), so a shard under its final name is always complete: the files are the truth,
and a run killed at any moment (SIGKILL included) restarts from them. The manifest is written the
same way after each shard; a shard that landed but whose manifest update did not is found on disk
and added back, so it is neither lost nor computed again.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq

from ..errors import InputError, MissingFileError

FORMAT = "lxmert_viz.analysis/1"
MANIFEST = "manifest.json"
SHARDS = "shards"
_SHARD = re.compile(r"^(shard|part)-(\d{5,})(\.parquet)?$")
_TMP = re.compile(r"^\.(shard|part)-\d{5,}.*\.tmp$")


def shard_path(out: Path, k: int, ray: bool = False) -> Path:
    return Path(out) / SHARDS / (f"part-{k:05d}" if ray else f"shard-{k:05d}.parquet")


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def write_shard(path: Path, table) -> None:
    """Write one Parquet shard atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def publish_folder(tmp: Path, final: Path) -> None:
    """Rename a finished temporary folder into place (the Ray backend's segments)."""
    for f in tmp.iterdir():
        if f.is_file():
            with open(f, "rb+") as fh:
                os.fsync(fh.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def read_manifest(out: Path) -> dict | None:
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path} is not valid JSON ({err}); it was not written by lxmert_viz.analysis.run") from None
    if data.get("format") != FORMAT:
        raise InputError(f"{path} is not a run manifest of this version (format {data.get('format')!r}, "
                         f"expected {FORMAT!r})")
    return data


def write_manifest(out: Path, manifest: dict) -> None:
    manifest = {**manifest, "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_write_bytes(Path(out) / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())


def clean_temporary(out: Path) -> list[str]:
    """Remove what a killed run left half-written (hidden ``.shard-*.tmp`` / ``.part-*.tmp``)."""
    gone = []
    d = Path(out) / SHARDS
    if d.is_dir():
        for p in d.iterdir():
            if _TMP.match(p.name):
                shutil.rmtree(p) if p.is_dir() else p.unlink()
                gone.append(p.name)
    return gone


def shard_files(path: Path) -> list[Path]:
    """The Parquet files of one shard (a file, or the files of a Ray segment folder)."""
    path = Path(path)
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def shards_on_disk(out: Path) -> dict[int, dict]:
    """Shard number -> ``{"path", "rows"}`` for every complete shard under ``OUT/shards``."""
    found = {}
    d = Path(out) / SHARDS
    if not d.is_dir():
        return found
    for p in sorted(d.iterdir()):
        m = _SHARD.match(p.name)
        if m:
            rows = sum(pq.ParquetFile(f).metadata.num_rows for f in shard_files(p))
            found[int(m.group(2))] = {"path": str(p.relative_to(out)), "rows": rows}
    return found


def completed_shards(out: Path, manifest: dict) -> dict[int, dict]:
    """Shards done: those the manifest lists and those found on disk (a kill between a shard's
    rename and the manifest's update leaves one of the latter)."""
    listed = {int(k): v for k, v in manifest.get("shards", {}).items()}
    disk = shards_on_disk(out)
    for k in listed:
        if k not in disk:
            raise MissingFileError(f"the manifest of {out} lists shard {k} ({listed[k]['path']}) but it is gone; "
                                    "restore it or start the run in a new folder")
    return {k: {**disk[k], **listed.get(k, {})} for k in disk}


def open_run(out: Path, config: dict) -> tuple[dict, dict[int, dict]]:
    """The manifest of the run in ``out`` and the shards it has done (a new manifest and none when
    ``out`` is new or empty); a run there with other settings, or a folder with other files, is an error."""
    out = Path(out)
    manifest = read_manifest(out)
    if manifest is None:
        if out.exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty and holds no {MANIFEST}: give a new or empty folder for a run")
        out.mkdir(parents=True, exist_ok=True)
        manifest = {"format": FORMAT, "config": config, "shards": {}, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_manifest(out, manifest)
        return manifest, {}
    old = manifest["config"]
    diff = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
    if diff:
        k = diff[0]
        raise InputError(f"{out} holds a run with other settings ({k}: {old.get(k)!r} there, {config.get(k)!r} now); "
                         "resume it with the same arguments or start in a new folder")
    clean_temporary(out)
    done = completed_shards(out, manifest)
    manifest["shards"] = {str(k): v for k, v in sorted(done.items())}
    return manifest, done


def iter_shard_paths(out: Path) -> list[Path]:
    """Every Parquet file of a run, in shard order."""
    manifest = read_manifest(out)
    if manifest is None:
        raise MissingFileError(f"{out} is not a run folder (no {MANIFEST}); make one with lxmert_viz.analysis.run")
    files = []
    for k, info in sorted(completed_shards(out, manifest).items()):
        files += shard_files(Path(out) / info["path"])
    return files
