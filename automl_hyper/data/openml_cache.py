"""A local cache in openml-python's own layout, so OpenML datasets load with no network.

openml-python (0.15) reads a dataset from ``<root>/<server>/datasets/<id>/`` when that folder holds
``description.xml`` and ``dataset.arff``; it then never calls the server for
``get_dataset(id, download_data=True, download_qualities=False,
download_features_meta_data=False)``. We also write ``features.xml`` so that ``dataset.features``
and local tasks work offline. Names are resolved offline through ``automl_hyper_index.json``
(name -> id), written next to ``datasets/``.

Everything here keeps the real OpenML ids, so a cached dataset and the one on openml.org are the
same dataset under the same id.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape, unescape

import numpy as np
import pandas as pd

from automl_hyper.warning_types import AutomlHyperWarning

CACHE_ENV_VAR = "AUTOML_HYPER_OPENML_CACHE"
INDEX_FILE = "automl_hyper_index.json"
LOCAL_TAG = "automl-hyper-local"


def resolve_cache_root(cache_dir: str | Path | None = None) -> Path:
    """openml's root cache folder: ``cache_dir``, else $AUTOML_HYPER_OPENML_CACHE, else openml's."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV_VAR) or None
    if cache_dir is None:
        import openml

        cache_dir = openml.config.get_config_as_dict()["cachedir"]
    return Path(cache_dir).expanduser().resolve()


@contextmanager
def openml_cache(cache_dir: str | Path | None = None) -> Iterator[Path]:
    """Point openml-python at ``cache_dir`` for the duration; yields the server-specific folder.

    openml's cache setting is process-global, so the previous root is restored on exit (not
    thread-safe, like openml's cache itself).
    """
    import openml

    root = resolve_cache_root(cache_dir)
    previous = openml.config.get_config_as_dict()["cachedir"]
    openml.config.set_root_cache_directory(root)
    try:
        yield Path(openml.config.get_cache_directory())
    finally:
        openml.config.set_root_cache_directory(previous)


def dataset_dir(server_dir: Path, dataset_id: int) -> Path:
    return server_dir / "datasets" / str(int(dataset_id))


def is_cached(server_dir: Path, dataset_id: int) -> bool:
    """True when openml can load ``dataset_id`` from this cache without the server."""
    folder = dataset_dir(server_dir, dataset_id)
    has_data = (folder / "dataset.arff").is_file() or any(folder.glob("dataset_*.pq"))
    return (folder / "description.xml").is_file() and has_data


# ---------------------------------------------------------------- name index


def read_index(server_dir: Path) -> dict[str, int]:
    path = server_dir / INDEX_FILE
    if not path.is_file():
        return {}
    return {str(k): int(v) for k, v in json.loads(path.read_text()).items()}


def update_index(server_dir: Path, names: dict[str, int]) -> None:
    index = read_index(server_dir) | {k: int(v) for k, v in names.items()}
    server_dir.mkdir(parents=True, exist_ok=True)
    tmp = server_dir / (INDEX_FILE + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(index.items())), indent=1))
    tmp.replace(server_dir / INDEX_FILE)  # atomic, so a reader never sees half a file


_NAME_RE = re.compile(r"<oml:name>(.*?)</oml:name>", re.S)
_TARGET_RE = re.compile(r"<oml:default_target_attribute>(.*?)</oml:default_target_attribute>", re.S)
_TAG_RE = re.compile(r"<oml:tag>(.*?)</oml:tag>", re.S)


def cached_descriptions(server_dir: Path) -> list[dict]:
    """One row per dataset folder with a description: id, name, target, has_data, local."""
    rows = []
    root = server_dir / "datasets"
    if not root.is_dir():
        return rows
    for folder in root.iterdir():
        desc = folder / "description.xml"
        if not (folder.name.isdigit() and desc.is_file()):
            continue
        text = desc.read_text(encoding="utf8", errors="replace")
        name = _NAME_RE.search(text)
        target = _TARGET_RE.search(text)
        rows.append(
            {
                "id": int(folder.name),
                "name": unescape(name.group(1).strip()) if name else "",
                "target": unescape(target.group(1).strip()) if target else "",
                "has_data": is_cached(server_dir, int(folder.name)),
                "local": LOCAL_TAG in _TAG_RE.findall(text),
            }
        )
    return sorted(rows, key=lambda r: r["id"])


def find_cached_id(server_dir: Path, name: str) -> int | None:
    """Resolve a dataset name offline: our index first, then openml's cached descriptions.

    Exact matches win over case-insensitive ones; among several datasets of one name the lowest
    id (OpenML's oldest version) wins, as openml-python does online.
    """
    index = read_index(server_dir)
    if name in index:
        return index[name]
    folded = sorted(i for n, i in index.items() if n.casefold() == name.casefold())
    if folded:
        return folded[0]
    rows = [r for r in cached_descriptions(server_dir) if r["has_data"]]
    for same in (lambda n: n == name, lambda n: n.casefold() == name.casefold()):
        ids = sorted(r["id"] for r in rows if same(r["name"]))
        if ids:
            return ids[0]
    return None


# ---------------------------------------------------------------- writing datasets


def _category_text(column: pd.Series) -> pd.Series:
    """Categories as ARFF nominal text; integer codes read as floats (NaN present) print as ints."""
    values = column.dropna()
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        if len(values) and np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
            return column.astype("Int64").astype("string")
    return column.astype("string")


def write_dataset(
    server_dir: Path,
    dataset_id: int,
    name: str,
    frame: pd.DataFrame,
    target: str,
    categorical: list[str],
    *,
    classification: bool = True,
    description: str = "",
    licence: str = "",
) -> Path:
    """Write one dataset (features and target in ``frame``) in openml's cache layout.

    ``categorical`` columns and, for classification, the target become ARFF nominal attributes;
    all others numeric. Returns the dataset folder.
    """
    import arff  # liac-arff, installed with openml

    if target not in frame.columns:
        raise ValueError(f"{name}: target column {target!r} not in {list(frame.columns)}")
    missing = [c for c in categorical if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: categorical columns not in the data: {missing}")
    nominal = set(categorical) | ({target} if classification else set())
    attributes, columns = [], []
    for col in frame.columns:
        series = frame[col]
        if col in nominal:
            text = _category_text(series)
            levels = sorted(text.dropna().unique(), key=_natural_key)
            attributes.append((str(col), [str(v) for v in levels]))
            columns.append(text.astype(object).where(text.notna(), None))
        else:
            if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
                raise ValueError(
                    f"{name}: column {col!r} is not numeric ({series.dtype}); "
                    "list it as categorical"
                )
            kind = "INTEGER" if pd.api.types.is_integer_dtype(series) else "REAL"
            attributes.append((str(col), kind))
            columns.append(series.astype(object).where(series.notna(), None))
    rows = [list(r) for r in zip(*columns)]
    folder = dataset_dir(server_dir, dataset_id)
    folder.mkdir(parents=True, exist_ok=True)
    arff_text = arff.dumps(
        {"relation": name, "description": description, "attributes": attributes, "data": rows}
    )
    (folder / "dataset.arff").write_text(arff_text, encoding="utf8")
    _write_description(folder, dataset_id, name, target, description, licence, arff_text)
    _write_features(folder, attributes, columns, target)
    # openml caches parsed data as a pickle next to the ARFF; drop a stale one from older content.
    for stale in folder.glob("dataset.pkl.py3"):
        stale.unlink()
    return folder


def _natural_key(value: str):
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _write_description(
    folder: Path,
    dataset_id: int,
    name: str,
    target: str,
    description: str,
    licence: str,
    arff_text: str,
) -> None:
    md5 = hashlib.md5(arff_text.encode("utf8")).hexdigest()
    fields = {
        "id": str(int(dataset_id)),
        "name": name,
        "version": "1",
        "description": description or f"{name} (OpenML {dataset_id}), written by automl-hyper.",
        "format": "ARFF",
        "licence": licence or "unknown",
        # openml needs a URL in the description; the ARFF is already here, so it is never fetched.
        "url": f"https://www.openml.org/data/v1/download/{int(dataset_id)}/{name}.arff",
        "default_target_attribute": target,
        "tag": LOCAL_TAG,
        "visibility": "public",
        "status": "active",
        "md5_checksum": md5,
    }
    body = "".join(f"  <oml:{k}>{escape(v)}</oml:{k}>\n" for k, v in fields.items())
    (folder / "description.xml").write_text(
        '<oml:data_set_description xmlns:oml="http://openml.org/openml">\n'
        + body
        + "</oml:data_set_description>\n",
        encoding="utf8",
    )


def _write_features(folder: Path, attributes: list, columns: list, target: str) -> None:
    parts = []
    for index, ((name, kind), values) in enumerate(zip(attributes, columns)):
        nominal = isinstance(kind, list)
        # openml rejects a nominal feature without values (a column that is all missing).
        data_type = "numeric" if not nominal else "nominal" if kind else "string"
        n_missing = sum(v is None for v in values)
        part = (
            "  <oml:feature>\n"
            f"    <oml:index>{index}</oml:index>\n"
            f"    <oml:name>{escape(name)}</oml:name>\n"
            f"    <oml:data_type>{data_type}</oml:data_type>\n"
        )
        if nominal:
            part += "".join(
                f"    <oml:nominal_value>{escape(v)}</oml:nominal_value>\n" for v in kind
            )
        part += (
            f"    <oml:is_target>{'true' if name == target else 'false'}</oml:is_target>\n"
            "    <oml:is_ignore>false</oml:is_ignore>\n"
            "    <oml:is_row_identifier>false</oml:is_row_identifier>\n"
            f"    <oml:number_of_missing_values>{n_missing}</oml:number_of_missing_values>\n"
            "  </oml:feature>\n"
        )
        parts.append(part)
    (folder / "features.xml").write_text(
        '<oml:data_features xmlns:oml="http://openml.org/openml">\n'
        + "".join(parts)
        + "</oml:data_features>\n",
        encoding="utf8",
    )
    for stale in folder.glob("features.xml.pkl"):
        stale.unlink()


# ---------------------------------------------------------------- building from a folder


def _read_manifest(folder: Path) -> pd.DataFrame | None:
    path = folder / "MANIFEST.tsv"
    if not path.is_file():
        return None
    manifest = pd.read_csv(path, sep="\t", dtype={"name": str})
    if not {"name", "openml_id"} <= set(manifest.columns):
        raise ValueError(f"{path} needs the columns name and openml_id")
    duplicated = sorted(set(manifest["name"][manifest["name"].duplicated()]))
    if duplicated:
        raise ValueError(f"{path} lists these names more than once: {duplicated}")
    return manifest.set_index("name")


def _manifest_value(row: pd.Series, column: str):
    value = row.get(column)
    return None if value is None or pd.isna(value) or value == "" else value


def build_cache(
    src_folder: str | Path,
    cache_dir: str | Path | None = None,
    *,
    names: list[str] | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Build an OpenML-layout cache from a folder of ARFF/CSV files, keeping the real OpenML ids.

    The folder holds ``<name>.arff`` or ``<name>.csv`` files plus ``MANIFEST.tsv`` (columns
    ``name`` and ``openml_id``; optional ``classes``, 0 for regression, and ``target``). The
    target defaults to the column ``target`` (else the last) of a CSV, the last attribute of an
    ARFF. ``CATEGORICAL.json`` (name -> list of nominal columns) says which CSV features are
    categorical; ARFF files are copied as they are, with their own nominal types. Files without
    a manifest id are skipped with a warning.
    ``names`` restricts the build to those datasets. Returns name -> OpenML id of what is cached.
    """
    src = Path(src_folder)
    if not src.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {src}")
    manifest = _read_manifest(src)
    if manifest is None:
        raise FileNotFoundError(f"{src} has no MANIFEST.tsv (columns name, openml_id)")
    cat_path = src / "CATEGORICAL.json"
    categorical = json.loads(cat_path.read_text()) if cat_path.is_file() else {}
    files: dict[str, Path] = {}
    for path in sorted(src.glob("*.csv")) + sorted(src.glob("*.arff")):
        files[path.stem] = path  # an ARFF (sorted last) wins over a CSV of the same name
    if names is not None:
        unknown = sorted(set(names) - set(files))
        if unknown:
            raise ValueError(f"no ARFF/CSV file in {src} for: {unknown}")
        files = {n: files[n] for n in names}
    written: dict[str, int] = {}
    skipped = []
    with openml_cache(cache_dir) as server_dir:
        for name, path in files.items():
            if name not in manifest.index:
                skipped.append(name)
                continue
            row = manifest.loc[name]
            did = int(row["openml_id"])
            if overwrite or not is_cached(server_dir, did):
                classes = _manifest_value(row, "classes")
                classification = classes is None or int(classes) > 0
                target = _manifest_value(row, "target")
                _cache_file(
                    server_dir,
                    did,
                    name,
                    path,
                    categorical.get(name, []),
                    classification,
                    None if target is None else str(target),
                )
            written[name] = did
        update_index(server_dir, written)
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} file(s) with no openml_id in MANIFEST.tsv: {skipped}",
            AutomlHyperWarning,
            stacklevel=2,
        )
    return written


def _cache_file(
    server_dir: Path,
    did: int,
    name: str,
    path: Path,
    categorical: list[str],
    classification: bool,
    target: str | None,
) -> None:
    note = f"{name}, cached by automl-hyper from {path.name}."
    if path.suffix == ".arff":
        import arff

        text = path.read_text(encoding="utf8")
        decoded = arff.loads(text)  # validates the file before openml ever sees it
        attributes = decoded["attributes"]
        names = [a[0] for a in attributes]
        target = target or names[-1]
        if target not in names:
            raise ValueError(f"{path}: target {target!r} is not an attribute: {names}")
        folder = dataset_dir(server_dir, did)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "dataset.arff").write_text(text, encoding="utf8")
        for stale in folder.glob("*.pkl*"):
            stale.unlink()
        columns = [[row[i] for row in decoded["data"]] for i in range(len(attributes))]
        _write_description(folder, did, name, target, note, "", text)
        _write_features(folder, attributes, columns, target)
        return
    frame = pd.read_csv(path)
    target = target or ("target" if "target" in frame.columns else str(frame.columns[-1]))
    write_dataset(
        server_dir,
        did,
        name,
        frame,
        target,
        categorical,
        classification=classification,
        description=note,
    )
