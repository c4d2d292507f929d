"""get_file against a local HTTP server: Keras's cache layout, checksums, extraction, hostile archives."""

import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from nablanet.utils import get_file
from nablanet.utils.file_utils import keras_home

keras = pytest.importorskip("keras")


def _write(folder, name, data):
    (folder / name).write_bytes(data)
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def _tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_download_lands_where_keras_puts_it_and_is_cached(served, tmp_path, monkeypatch):
    folder, url = served
    sha, md5 = _write(folder, "data.bin", b"payload")
    home = tmp_path / "home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    assert keras_home() == str(home)
    path = get_file(origin=url + "data.bin", file_hash=sha)
    assert path == str(home / "datasets" / "data.bin")
    assert Path(path).read_bytes() == b"payload"
    (folder / "data.bin").unlink()  # a second call must not download
    assert get_file("data.bin", origin=url + "data.bin", md5_hash=md5) == path
    (folder / "x").write_bytes(b"1")
    other = get_file("other.bin", origin=url + "x", cache_dir=str(tmp_path / "c"), cache_subdir="sub")
    assert other == str(tmp_path / "c" / "sub" / "other.bin")


def test_keras_finds_our_download_and_we_find_keras(served, tmp_path, monkeypatch):
    folder, url = served
    sha, _ = _write(folder, "shared.txt", b"same bytes")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    ours = get_file("shared.txt", origin=url + "shared.txt", file_hash=sha, cache_dir=str(tmp_path / "home"))
    (folder / "shared.txt").unlink()
    theirs = keras.utils.get_file("shared.txt", origin=url + "shared.txt", file_hash=sha,
                                  cache_dir=str(tmp_path / "home"))
    assert os.path.samefile(ours, theirs)


def test_a_wrong_checksum_is_refused_and_the_file_removed(served, tmp_path):
    folder, url = served
    _write(folder, "bad.bin", b"corrupted")
    with pytest.raises(ValueError, match="does not match its sha256 checksum"):
        get_file(origin=url + "bad.bin", file_hash="0" * 64, cache_dir=str(tmp_path))
    assert not (tmp_path / "datasets" / "bad.bin").exists()


def test_a_stale_cached_file_is_downloaded_again(served, tmp_path):
    folder, url = served
    sha, _ = _write(folder, "f.bin", b"new")
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "f.bin").write_bytes(b"old")
    path = get_file(origin=url + "f.bin", file_hash=sha, cache_dir=str(tmp_path))
    assert Path(path).read_bytes() == b"new"


def test_http_errors_and_missing_origin_are_named(served, tmp_path):
    _, url = served
    with pytest.raises(OSError, match="HTTP 404"):
        get_file(origin=url + "missing.bin", cache_dir=str(tmp_path))
    assert not any(p.name.startswith(".download") for p in (tmp_path / "datasets").iterdir())
    with pytest.raises(ValueError, match="origin"):
        get_file("x")
    with pytest.raises(ValueError, match="without folders"):
        get_file("a/b", origin=url + "b", cache_dir=str(tmp_path))


def test_tar_and_zip_extract_in_keras_layout(served, tmp_path):
    folder, url = served
    _write(folder, "pack.tar.gz", _tar({"pack/a.txt": b"A", "pack/sub/b.txt": b"B"}))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("z/c.txt", "C")
    _write(folder, "pack.zip", buffer.getvalue())
    out = get_file("pack.tar.gz", origin=url + "pack.tar.gz", extract=True, cache_dir=str(tmp_path / "ours"))
    assert out == str(tmp_path / "ours" / "datasets" / "pack_extracted")
    assert Path(out, "pack", "sub", "b.txt").read_text() == "B"
    (tmp_path / "keras").mkdir()  # Keras falls back to /tmp/.keras for a cache_dir that does not exist yet
    theirs = keras.utils.get_file("pack.tar.gz", origin=url + "pack.tar.gz", extract=True,
                                  cache_dir=str(tmp_path / "keras"))
    assert os.path.relpath(theirs, tmp_path / "keras") == os.path.relpath(out, tmp_path / "ours")
    named = get_file("target", origin=url + "pack.zip", extract=True, cache_dir=str(tmp_path / "ours"))
    assert named == str(tmp_path / "ours" / "datasets" / "target")
    assert os.path.exists(str(tmp_path / "ours" / "datasets" / "target_archive"))
    assert Path(named, "z", "c.txt").read_text() == "C"
    legacy = get_file("old", origin=url + "pack.tar.gz", untar=True, cache_dir=str(tmp_path / "ours"))
    assert os.path.isfile(os.path.join(legacy, "pack", "a.txt"))


@pytest.mark.parametrize("member", ["../escape.txt", "/abs/escape.txt", "ok/../../escape.txt"])
def test_path_traversal_in_a_tar_is_refused(served, tmp_path, member):
    folder, url = served
    _write(folder, "evil.tar.gz", _tar({member: b"x"}))
    with pytest.raises(ValueError, match="refusing to extract"):
        get_file("evil.tar.gz", origin=url + "evil.tar.gz", extract=True, cache_dir=str(tmp_path / "c"))
    assert not (tmp_path / "c" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()


def test_links_out_of_the_folder_and_zip_traversal_are_refused(served, tmp_path):
    folder, url = served
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
        archive.addfile(link)
    _write(folder, "link.tar.gz", buffer.getvalue())
    with pytest.raises(ValueError, match="points outside"):
        get_file("link.tar.gz", origin=url + "link.tar.gz", extract=True, cache_dir=str(tmp_path / "c"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.txt", "x")
    _write(folder, "evil.zip", buffer.getvalue())
    with pytest.raises(ValueError, match="refusing to extract"):
        get_file("evil.zip", origin=url + "evil.zip", extract=True, cache_dir=str(tmp_path / "c"))
    assert not (tmp_path / "c" / "escape.txt").exists()
