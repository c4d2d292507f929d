"""`get_file`: download once into Keras's cache folder, verify a checksum, extract archives safely.

The layout is Keras's, so a file Keras downloaded is found here and the other way round: the cache
folder is `$KERAS_HOME` (default `~/.keras`, or `/tmp/.keras` when that is not writable), files go
to `<cache>/<cache_subdir>/<fname>`, and an extracted archive to `<fname>_extracted` (or `<fname>`,
its download then being `<fname>_archive`). Extraction refuses any member that would land outside
the target folder (absolute paths, `..`, links pointing out, devices).
"""

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

__all__ = ["extract_archive", "get_file", "keras_home", "validate_file"]

_CHUNK = 1 << 20


def keras_home():
    """Keras's cache folder: `$KERAS_HOME`, else `~/.keras`."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _hasher(algorithm, file_hash):
    if algorithm == "auto":
        algorithm = "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    if algorithm not in ("sha256", "md5"):
        raise ValueError(f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}")
    return algorithm, hashlib.new(algorithm)


def hash_file(fpath, algorithm="sha256"):
    """The hex digest of the file at `fpath`."""
    _, hasher = _hasher(algorithm, None)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto"):
    """Whether the file's md5 or sha256 digest (`auto`: sha256 for a 64-digit hash) is `file_hash`."""
    algorithm, _ = _hasher(algorithm, file_hash)
    return hash_file(fpath, algorithm) == str(file_hash).lower()


def _inside(root, target):
    root = os.path.realpath(root)
    target = os.path.realpath(target)
    return target == root or target.startswith(root + os.sep)


def _extract_tar(path, folder):
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        for member in members:
            target = os.path.join(folder, member.name)
            if os.path.isabs(member.name) or not _inside(folder, target):
                raise ValueError(f"get_file: refusing to extract {path}: member {member.name!r} would land outside "
                                 f"{folder}")
            if member.issym() or member.islnk():
                link = os.path.join(os.path.dirname(target), member.linkname) if member.issym() else \
                    os.path.join(folder, member.linkname)
                if os.path.isabs(member.linkname) or not _inside(folder, link):
                    raise ValueError(f"get_file: refusing to extract {path}: link {member.name!r} points outside "
                                     f"{folder} ({member.linkname!r})")
            elif not (member.isfile() or member.isdir()):
                raise ValueError(f"get_file: refusing to extract {path}: member {member.name!r} is a device or fifo")
        if sys.version_info >= (3, 12) or hasattr(tarfile, "data_filter"):
            archive.extractall(folder, members=members, filter="data")
        else:  # the checks above stand in for the data filter
            archive.extractall(folder, members=members)


def _extract_zip(path, folder):
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if os.path.isabs(name) or name.startswith(("/", "\\")) or not _inside(folder, os.path.join(folder, name)):
                raise ValueError(f"get_file: refusing to extract {path}: member {name!r} would land outside {folder}")
        archive.extractall(folder)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar (any compression) or zip archive into `path`; False when it is neither.

    Args:
        file_path: The archive.
        path: The folder to extract into.
        archive_format: "auto" (tar, then zip), "tar", "zip", a list of these, or None (no extraction).
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"get_file: archive_format must be 'auto', 'tar', 'zip' or a list of them, got {kind!r}")
        if (tarfile.is_tarfile if kind == "tar" else zipfile.is_zipfile)(file_path):
            os.makedirs(path, exist_ok=True)
            try:
                (_extract_tar if kind == "tar" else _extract_zip)(file_path, path)
            except BaseException:
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                raise
            return True
    return False


def _download(origin, target):
    folder = os.path.dirname(target)
    handle, partial = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(origin, timeout=60) as response:
            shutil.copyfileobj(response, out, _CHUNK)
        os.replace(partial, target)
    except urllib.error.HTTPError as error:
        raise OSError(f"get_file: downloading {origin} failed: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise OSError(f"get_file: downloading {origin} failed: {error.reason}") from None
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """The local path of a file from `origin`, downloaded into Keras's cache folder unless it is there.

    Args:
        fname: The file's name in the cache (default: the last part of `origin`'s path); no folders.
        origin: The URL to download from.
        untar: Deprecated: extract as a tar archive (use `extract=True`).
        md5_hash: Deprecated: an md5 checksum (use `file_hash`).
        file_hash: The expected md5 or sha256 checksum; a cached file that does not match is downloaded
            again, a download that does not match is an error.
        cache_subdir: The sub-folder of the cache (an absolute path is used as is).
        hash_algorithm: "md5", "sha256" or "auto".
        extract: Extract the archive and return the extraction folder.
        archive_format: "auto", "tar", "zip" or a list of them.
        cache_dir: The cache folder (default `$KERAS_HOME` or `~/.keras`).
        force_download: Download even when the file is cached.

    Returns:
        The downloaded file, or the folder it was extracted to.
    """
    if origin is None:
        raise ValueError('get_file: pass origin="https://..." (the URL to download from)')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    if not os.access(base, os.W_OK) and (os.path.exists(base) or not os.access(os.path.dirname(base) or ".", os.W_OK)):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    folder = os.path.join(base, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    given = os.fspath(fname) if fname is not None else None
    if given:
        if os.sep in given or (os.altsep and os.altsep in given):
            raise ValueError(f"get_file: fname must be a file name without folders (use cache_dir), got {given!r}")
        name = given
    else:
        name = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not name:
            raise ValueError(f"get_file: cannot tell a file name from origin={origin!r}; pass fname")
    if extract or untar:
        if given and "." in name:
            target = os.path.join(folder, name)
            extracted = os.path.join(folder, name[:name.find(".")] + "_extracted")
        else:
            target = os.path.join(folder, name + "_archive")
            extracted = os.path.join(folder, name)
    else:
        target = os.path.join(folder, name)
    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        download = True  # a stale or partial file from an earlier run
    if download:
        _download(origin, target)
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            algorithm, _ = _hasher(hash_algorithm, file_hash)
            raise ValueError(f"get_file: the file from {origin} does not match its {algorithm} checksum {file_hash}; "
                             "it was removed (a truncated download, or the file changed at its origin)")
    if extract or untar:
        if download or not os.path.isdir(extracted):
            if os.path.isdir(extracted):
                shutil.rmtree(extracted)
            if not extract_archive(target, extracted, "tar" if untar else archive_format):
                raise ValueError(f"get_file: {target} is not a {'tar' if untar else 'tar or zip'} archive")
        return extracted
    return target
