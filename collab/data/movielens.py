"""MovieLens: download once from GroupLens, verify, cache, and parse into `Ratings` with titles and genres.

Downloads go through a temporary file that is renamed into place only when the zip is complete
and intact (its MD5 matches the checksum GroupLens publishes beside it, and every member's CRC), so an
interrupted download never leaves a broken archive in the cache. A cache folder that cannot be written
(read-only or full disk) is reported as a `DataError` naming the folder and the fix, or, for the default
folder, replaced by one in the temporary folder with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from collab.data.errors import DataError
from collab.data.items import read_items
from collab.data.ratings import Ratings
from collab.data.read import read_ratings

__all__ = [
    "MOVIELENS_DATASETS",
    "MovieLensSpec",
    "load_movielens",
    "load_movielens_dir",
    "movielens_cache_dir",
    "movielens_url",
    "sweep_partial_downloads",
]

MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/"
# The files we extract, uncompressed: ML-1M's ratings.dat is 24.6 MB, the largest; a zip declaring more is
# refused before anything is extracted (a zip bomb whose MD5 matches a tampered mirror's checksum).
MAX_MEMBER_BYTES = 64 * 10**6
# A download's whole time, beside urllib's idle timeout (30 s between bytes): a server that trickles
# 1 KiB every 2 s never trips the idle timeout and would hold every student asking for that dataset.
# ML-1M (6 MB) takes seconds on any classroom link.
DOWNLOAD_DEADLINE_S = 180.0
CHECKSUM_DEADLINE_S = 30.0  # the 50-byte `<zip>.md5` beside it, read the same way

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
    download is complete, matches the MD5 checksum published beside it (`<zip>.md5`, same place), and
    is an intact zip (CRCs) holding the expected files. A zip placed there by hand, or its extracted
    folder, is used without a download. `progress(bytes_done, bytes_total or None)` is called as bytes
    arrive.

    A cache dir that cannot be written (read-only, full) raises `DataError` naming it when it was
    chosen (`cache_dir` or $COLLAB_DATA_DIR); the default one is replaced for this call by a folder in
    the temporary folder, with a `RuntimeWarning` saying so. Every other failure (offline, HTTP error,
    checksum or CRC mismatch, wrong archive) is a `DataError` that says how to fix it.
    """
    spec = _movielens_spec(name)
    root = movielens_cache_dir(cache_dir)
    url = movielens_url(name, base_url)
    chosen = cache_dir is not None or bool(os.environ.get("COLLAB_DATA_DIR"))
    fallback = Path(tempfile.gettempdir()) / "collab-lab"
    if _is_extracted(root / spec.folder, spec):
        return _load_cached(root, spec)
    if not chosen and _is_extracted(fallback / spec.folder, spec):  # an earlier call fell back
        return _noted(_load_cached(fallback, spec), f"MovieLens is cached in {fallback}.")
    try:
        _fill_cache(root, spec, url, progress, root)
        return _load_cached(root, spec)
    except _CacheWriteError as failure:
        if chosen:
            raise DataError(
                f"cannot write to the MovieLens data folder {failure.folder} ({failure.reason}). "
                "Free some space there, or choose a writable folder (the cache_dir argument or the "
                "COLLAB_DATA_DIR environment variable)."
            ) from failure.error
        note = (
            f"The MovieLens cache folder {failure.folder} is not writable ({failure.reason}); "
            f"using {fallback} instead (set COLLAB_DATA_DIR to a writable folder to keep a cache)."
        )
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    try:
        _fill_cache(fallback, spec, url, progress, root)
    except _CacheWriteError as failure:
        raise DataError(
            f"cannot write MovieLens to {root} nor to the temporary folder {failure.folder} "
            f"({failure.reason}). Free some disk space, or set COLLAB_DATA_DIR to a writable folder."
        ) from failure.error
    return _noted(_load_cached(fallback, spec), note)


def movielens_url(name: str, base_url: str | None = None) -> str:
    """The address MovieLens `name`'s zip is downloaded from: `base_url`, else $COLLAB_MOVIELENS_URL,
    else GroupLens, then "<folder>.zip". Raises `DataError` for an unknown name."""
    base = base_url or os.environ.get("COLLAB_MOVIELENS_URL") or MOVIELENS_URL
    return f"{base.rstrip('/')}/{_movielens_spec(name).folder}.zip"


def _noted(ratings: Ratings, note: str) -> Ratings:
    return replace(ratings, notes=(*ratings.notes, note))


class _CacheWriteError(Exception):
    """Writing into the cache folder failed (read-only, full, no permission). Not an OSError, so the
    download's network-error handling lets it through."""

    def __init__(self, folder: Path, error: OSError) -> None:
        super().__init__(f"{folder}: {error}")
        self.folder, self.error = folder, error
        self.reason = error.strerror or str(error)


@contextlib.contextmanager
def _writing(folder: Path) -> Iterator[None]:
    """Turn an OSError from writing into `folder` into a `_CacheWriteError`."""
    try:
        yield
    except OSError as error:
        raise _CacheWriteError(folder, error) from error


def _fill_cache(root: Path, spec: MovieLensSpec, url: str, progress: Progress | None, zip_root: Path) -> None:
    """Extract the archive into root/<folder>, downloading it from `url` into `root` unless `zip_root`
    holds it. A downloaded zip that fails extraction's checks is dropped (see `_drop_bad_cache`)."""
    zip_path = zip_root / f"{spec.folder}.zip"
    if not zip_path.is_file():
        zip_path = root / f"{spec.folder}.zip"
        if not zip_path.is_file():
            _download(url, zip_path, spec, progress)
    try:
        _extract(zip_path, spec, root / spec.folder)
    except DataError as error:
        raise _drop_bad_cache(zip_path.parent, spec, error) from error


def _load_cached(root: Path, spec: MovieLensSpec) -> Ratings:
    """Parse root/<folder>; when it fails its checks, the extracted files (and the zip, when this module
    downloaded it) are dropped, so the next call downloads again: a mirror fixed since then works."""
    try:
        return load_movielens_dir(root / spec.folder)
    except DataError as error:
        said = DataError(
            f"the {spec.title} files in {root / spec.folder} are not MovieLens as expected: {error}"
        )
        raise _drop_bad_cache(root, spec, said) from error


def _downloaded_mark(zip_path: Path) -> Path:
    """Written beside a zip this module downloaded (its verified MD5, GroupLens' `<zip>.md5` layout): only
    such a zip is deleted when it turns out bad; one put there by hand is the user's to replace."""
    return zip_path.with_name(zip_path.name + ".md5")


def _drop_bad_cache(root: Path, spec: MovieLensSpec, error: DataError) -> DataError:
    """Delete the extracted files of `spec` under `root` and, if this module downloaded it, its zip; the
    error to raise, saying what was dropped."""
    folder = root / spec.folder
    for name in (spec.ratings_file, spec.items_file):
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when nothing else is in it
    zip_path = root / f"{spec.folder}.zip"
    mark = _downloaded_mark(zip_path)
    if not mark.is_file():
        return error  # a zip placed by hand stays (its message says to replace it); nothing else to drop
    try:
        zip_path.unlink(missing_ok=True)
        mark.unlink()
    except OSError:
        return error
    return DataError(
        f"{error} The cached download of {spec.title} was deleted, so the next try downloads it again."
    )


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
    """Fetch `url` to `dest` through a temporary file; only a complete, valid zip whose MD5 matches
    the published `url + ".md5"` is renamed into place."""
    manual = (
        f"To install it by hand, download {url} on a machine with internet access and put the zip at {dest} "
        "(or set COLLAB_DATA_DIR to a folder holding it), then try again."
    )
    with _writing(dest.parent):  # first, so a read-only folder fails before any download
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=dest.parent, prefix=f".{spec.folder}-", suffix=".part")
    try:
        try:
            expected_md5 = _published_md5(url + ".md5", spec, manual)
        except BaseException:
            os.close(fd)
            raise
        digest = hashlib.md5(usedforsecurity=False)
        with _writing(dest.parent), os.fdopen(fd, "wb") as out:  # closing flushes: a full disk shows here
            done, total = _fetch(url, spec, manual, progress, out, digest, dest.parent)
        if total is not None and done != total:
            raise DataError(
                f"the download of {spec.title} was cut short ({done:,} of {total:,} bytes). Try again. {manual}"
            )
        if digest.hexdigest() != expected_md5:
            raise DataError(
                f"the file downloaded from {url} does not match the checksum GroupLens publishes beside it "
                f"(MD5 {digest.hexdigest()}, expected {expected_md5}): it is damaged or not the real "
                f"{spec.folder}.zip. Try again. {manual}"
            )
        _check_zip(Path(partial), spec, what=f"the file downloaded from {url}")
        with _writing(dest.parent):
            _downloaded_mark(dest).write_text(f"MD5 ({dest.name}) = {expected_md5}\n")
            os.replace(partial, dest)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _fetch(
    url: str,
    spec: MovieLensSpec,
    manual: str,
    progress: Progress | None,
    out: Any,
    digest: Any,
    folder: Path,
) -> tuple[int, int | None]:
    """Stream `url` into `out` (and `digest`); (bytes done, Content-Length or None). Network failures
    raise DataError; a failed write raises `_CacheWriteError`."""
    done, total = 0, None
    deadline = time.monotonic() + DOWNLOAD_DEADLINE_S  # the checksum's fetch has its own (_published_md5)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress is not None:
                progress(0, total)
            while chunk := response.read1(1 << 16):  # what has arrived: the deadline is checked per chunk
                with _writing(folder):
                    out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
                if time.monotonic() > deadline:
                    raise DataError(
                        f"the download of {spec.title} from {url} is too slow: {done:,} of "
                        f"{f'{total:,}' if total else 'unknown'} bytes after {DOWNLOAD_DEADLINE_S:.0f} s. "
                        f"Try again later, or use the demo set. {manual}"
                    )
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
    return done, total


_MD5 = re.compile(rb"\b([0-9a-fA-F]{32})\b")


def _published_md5(url: str, spec: MovieLensSpec, manual: str) -> str:
    """The MD5 GroupLens publishes beside a zip (`<zip>.md5`, e.g. "MD5 (ml-100k.zip) = 0e33...")."""
    deadline = time.monotonic() + CHECKSUM_DEADLINE_S
    text = b""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            while len(text) < 4096 and (chunk := response.read1(4096 - len(text))):
                text += chunk
                if time.monotonic() > deadline:
                    raise DataError(
                        f"the checksum of {spec.title} from {url} is too slow: {len(text):,} bytes after "
                        f"{CHECKSUM_DEADLINE_S:.0f} s. Try again later, or use the demo set. {manual}"
                    )
    except urllib.error.HTTPError as error:
        raise DataError(
            f"could not download the checksum of {spec.title}: {url} answered HTTP {error.code}. {manual}"
        ) from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", error)
        raise DataError(
            f"could not download {spec.title}'s checksum from {url} ({reason}); are you offline? {manual}"
        ) from error
    found = _MD5.search(text)
    if found is None:
        raise DataError(
            f"{url} holds no MD5 checksum (it starts {text[:60]!r}), so the download cannot be checked. {manual}"
        )
    return found.group(1).decode().lower()


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
    members = {f: by_name[f] for f in (spec.ratings_file, spec.items_file)}
    for file_name, info in members.items():
        if info.file_size > MAX_MEMBER_BYTES:
            raise DataError(
                f"{what} is not the {spec.title} archive: its {file_name} unpacks to {info.file_size:,} bytes, "
                f"more than the {MAX_MEMBER_BYTES:,} any MovieLens file takes. Delete it and download "
                f"{spec.folder}.zip again from GroupLens."
            )
    return members


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
    with _writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for file_name, info in _zip_members(archive, spec, what).items():
                with _writing(folder):
                    fd, partial = tempfile.mkstemp(dir=folder, prefix=f".{file_name}-", suffix=".part")
                try:
                    with _writing(folder):
                        with os.fdopen(fd, "wb") as out, archive.open(info) as member:
                            shutil.copyfileobj(member, out)
                        os.replace(partial, folder / file_name)
                finally:
                    if os.path.exists(partial):
                        os.unlink(partial)
    except (zipfile.BadZipFile, _CacheWriteError) as error:
        with contextlib.suppress(OSError):
            if not any(folder.iterdir()):
                folder.rmdir()  # leave no empty folder behind
        if isinstance(error, _CacheWriteError):
            raise
        raise DataError(
            f"{what} is damaged ({error}). Delete it and download {spec.folder}.zip again."
        ) from error
