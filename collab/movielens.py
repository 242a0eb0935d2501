"""MovieLens: download once from GroupLens, verify, cache, and parse into `Ratings` with titles and genres.

Downloads go through a temporary file that is renamed into place only when the zip is complete
and intact, so an interrupted download never leaves a broken archive in the cache.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from collab.data import DataError, Ratings
from collab.sources import read_items, read_ratings

__all__ = [
    "MOVIELENS_DATASETS",
    "MovieLensSpec",
    "load_movielens",
    "load_movielens_dir",
    "movielens_cache_dir",
    "sweep_partial_downloads",
]

MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/"

Progress = Callable[[int, int | None], None]  # (bytes_done, bytes_total or None)


@dataclass(frozen=True)
class MovieLensSpec:
    """One MovieLens archive: its folder (and zip) name, the files we parse, and a display name."""

    folder: str
    ratings_file: str
    items_file: str
    title: str


MOVIELENS_DATASETS: dict[str, MovieLensSpec] = {
    "100k": MovieLensSpec("ml-100k", "u.data", "u.item", "MovieLens 100K"),
    "latest-small": MovieLensSpec("ml-latest-small", "ratings.csv", "movies.csv", "MovieLens latest (small)"),
    "1m": MovieLensSpec("ml-1m", "ratings.dat", "movies.dat", "MovieLens 1M"),
}


def movielens_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where MovieLens archives live: `cache_dir`, else $COLLAB_DATA_DIR, else the user's cache dir."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("COLLAB_DATA_DIR"):
        return Path(os.environ["COLLAB_DATA_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("collab-lab"))


def sweep_partial_downloads(cache_dir: str | os.PathLike | None = None, min_age_s: float = 600.0) -> int:
    """Delete `*.part` files left in the cache dir (and its dataset folders) by a download or an
    extraction that was killed; returns how many. Files younger than `min_age_s` are left alone, as
    another server may be writing them. A missing or read-only folder is not an error."""
    import time

    root = movielens_cache_dir(cache_dir)
    cutoff = time.time() - min_age_s
    removed = 0
    for partial in [*root.glob("*.part"), *root.glob("*/*.part")]:
        try:
            if partial.is_file() and partial.stat().st_mtime < cutoff:
                partial.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def load_movielens(
    name: str = "100k",
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    base_url: str | None = None,
) -> Ratings:
    """MovieLens with titles and genres: downloaded once from GroupLens, verified, cached, parsed.

    The archive is fetched from `base_url` (else $COLLAB_MOVIELENS_URL, else GroupLens) into the
    cache dir (see `movielens_cache_dir`) through a temporary file that is renamed only once the
    download is complete and the zip is intact and holds the expected files. A zip placed there
    by hand, or its extracted folder, is used without a download. `progress(bytes_done, bytes_total
    or None)` is called as bytes arrive.
    """
    spec = _movielens_spec(name)
    root = movielens_cache_dir(cache_dir)
    folder = root / spec.folder
    if not _is_extracted(folder, spec):
        zip_path = root / f"{spec.folder}.zip"
        if not zip_path.is_file():
            base = base_url or os.environ.get("COLLAB_MOVIELENS_URL") or MOVIELENS_URL
            _download(f"{base.rstrip('/')}/{spec.folder}.zip", zip_path, spec, progress)
        _extract(zip_path, spec, folder)
    return load_movielens_dir(folder)


def load_movielens_dir(path: str | os.PathLike, name: str | None = None) -> Ratings:
    """Parse an extracted MovieLens folder (ml-100k, ml-latest-small or ml-1m layout)."""
    folder = Path(path)
    for spec in MOVIELENS_DATASETS.values():
        if _is_extracted(folder, spec):
            break
    else:
        expected = " or ".join(f"{s.ratings_file} + {s.items_file}" for s in MOVIELENS_DATASETS.values())
        raise DataError(f"{folder} is not a MovieLens folder: it needs {expected}.")
    ratings_path = folder / spec.ratings_file
    if spec.ratings_file == "ratings.csv":
        ratings = read_ratings(
            ratings_path, "userId", "movieId", "rating", "timestamp", sep=",", has_header=True
        )
    else:
        sep = "\t" if spec.ratings_file == "u.data" else "::"
        ratings = read_ratings(ratings_path, 0, 1, 2, 3, sep=sep, has_header=False)
    return replace(ratings.with_items(read_items(folder / spec.items_file)), name=name or spec.title)


def _movielens_spec(name: str) -> MovieLensSpec:
    if name not in MOVIELENS_DATASETS:
        raise DataError(f"unknown MovieLens set {name!r}; choose one of {', '.join(MOVIELENS_DATASETS)}.")
    return MOVIELENS_DATASETS[name]


def _is_extracted(folder: Path, spec: MovieLensSpec) -> bool:
    return (folder / spec.ratings_file).is_file() and (folder / spec.items_file).is_file()


def _download(url: str, dest: Path, spec: MovieLensSpec, progress: Progress | None) -> None:
    """Fetch `url` to `dest` through a temporary file; only a complete, valid zip is renamed into place."""
    manual = (
        f"To install it by hand, download {url} on a machine with internet access and put the zip at {dest} "
        "(or set COLLAB_DATA_DIR to a folder holding it), then try again."
    )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"cannot create the data folder {dest.parent}: {error}. Set COLLAB_DATA_DIR to a writable folder."
        ) from error
    fd, partial = tempfile.mkstemp(dir=dest.parent, prefix=f".{spec.folder}-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    done = 0
                    if progress is not None:
                        progress(0, total)
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
            except urllib.error.HTTPError as error:
                raise DataError(
                    f"could not download {spec.title}: {url} answered HTTP {error.code}. {manual}"
                ) from error
            except http.client.IncompleteRead as error:
                raise DataError(
                    f"the download of {spec.title} was cut short ({done + len(error.partial):,} of "
                    f"{total or 0:,} bytes). Try again. {manual}"
                ) from error
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", error)
                raise DataError(
                    f"could not download {spec.title} from {url} ({reason}); are you offline? {manual}"
                ) from error
        if total is not None and done != total:
            raise DataError(
                f"the download of {spec.title} was cut short ({done:,} of {total:,} bytes). Try again. {manual}"
            )
        _check_zip(Path(partial), spec, what=f"the file downloaded from {url}")
        os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _zip_members(archive: zipfile.ZipFile, spec: MovieLensSpec, what: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's ratings and items members, found by file name (the folder inside may vary)."""
    by_name = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
    missing = [f for f in (spec.ratings_file, spec.items_file) if f not in by_name]
    if missing:
        found = ", ".join(sorted(i.filename for i in archive.infolist())[:5]) or "nothing"
        raise DataError(
            f"{what} is not the {spec.title} archive: it lacks {', '.join(missing)} (it holds {found}). "
            f"Delete it and download {spec.folder}.zip again."
        )
    return {f: by_name[f] for f in (spec.ratings_file, spec.items_file)}


def _check_zip(path: Path, spec: MovieLensSpec, what: str) -> None:
    """The zip opens, holds the expected files, and their CRCs match."""
    try:
        with zipfile.ZipFile(path) as archive:
            _zip_members(archive, spec, what)
            bad = archive.testzip()
    except zipfile.BadZipFile as error:
        raise DataError(
            f"{what} is not a valid zip archive ({error}). Delete it and download {spec.folder}.zip again."
        ) from error
    if bad is not None:
        raise DataError(
            f"{what} is damaged: {bad} fails its CRC check. Delete it and download {spec.folder}.zip again."
        )


def _extract(zip_path: Path, spec: MovieLensSpec, folder: Path) -> None:
    """Copy the two files we parse out of the zip, each through a temporary file and an atomic rename."""
    what = f"the archive at {zip_path}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for file_name, info in _zip_members(archive, spec, what).items():
                fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{file_name}-", suffix=".part")
                try:
                    with os.fdopen(fd, "wb") as out, archive.open(info) as member:
                        shutil.copyfileobj(member, out)
                    os.replace(partial, folder / file_name)
                finally:
                    if os.path.exists(partial):
                        os.unlink(partial)
    except zipfile.BadZipFile as error:
        if not any(folder.iterdir()):
            folder.rmdir()  # leave no empty folder behind
        raise DataError(
            f"{what} is damaged ({error}). Delete it and download {spec.folder}.zip again."
        ) from error
