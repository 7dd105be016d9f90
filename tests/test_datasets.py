"""Image and text sources: the supported formats load, and each bad input names its file."""

import gzip
import json
import struct

import numpy as np
import pytest
from PIL import Image

from genai_platform.datasets.images import load_images
from genai_platform.datasets.text import load_documents
from genai_platform.errors import DataError


def _png(path, size=(6, 5), value=128, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 0)).save(path)


def _idx(path, array, dims_code):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def test_bundled_digits():
    raw = load_images("sklearn:digits")
    assert raw.pixels.shape == (1797, 1, 8, 8) and raw.scale == 16.0
    assert raw.pixels.max() == 16 and raw.labels.max() == 9
    assert len(raw.provenance.files[0].sha256) == 64 and raw.provenance.rows == 1797


def test_folder_with_class_subfolders(tmp_path):
    _png(tmp_path / "cat" / "a.png", value=10)
    _png(tmp_path / "dog" / "b.png", value=20)
    _png(tmp_path / "dog" / "c.jpg", mode="RGB")
    raw = load_images(str(tmp_path))
    assert raw.pixels.shape == (3, 3, 5, 6)  # one colour image makes every image RGB
    assert raw.labels.tolist() == [0, 1, 1] and raw.class_names == ["cat", "dog"]


def test_folder_errors_name_the_file(tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png", size=(7, 7))
    with pytest.raises(DataError, match=r"b\.png.*same size"):
        load_images(str(tmp_path))
    (tmp_path / "b.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"b\.png: not a readable image"):
        load_images(str(tmp_path))
    truncated = tmp_path / "b.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (5, 6), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    with pytest.raises(DataError, match=r"b\.png"):
        load_images(str(tmp_path))


def test_idx_with_labels_beside_it(tmp_path):
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 256
    _idx(tmp_path / "train-images-idx3-ubyte.gz", images, 3)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([3, 1]), 1)
    raw = load_images(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert raw.pixels.shape == (2, 1, 3, 4) and raw.labels.tolist() == [3, 1] and len(raw.provenance.files) == 2


def test_idx_truncated_and_wrong_magic(tmp_path):
    path = tmp_path / "t10k-images-idx3-ubyte"
    _idx(path, np.zeros((4, 2, 2)), 3)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte: truncated"):
        load_images(str(path))
    path.write_bytes(b"\x01\x02\x03\x04junk")
    with pytest.raises(DataError, match="bad magic"):
        load_images(str(path))


def test_npz_and_its_errors(tmp_path):
    good = tmp_path / "data.npz"
    np.savez(good, images=np.zeros((3, 4, 4), dtype=np.uint8), labels=np.array([0, 1, 0]))
    raw = load_images(str(good))
    assert raw.pixels.shape == (3, 1, 4, 4) and raw.labels.tolist() == [0, 1, 0]
    no_images = tmp_path / "other.npz"
    np.savez(no_images, pictures=np.zeros((2, 2, 2)))
    with pytest.raises(DataError, match="no 'images' array"):
        load_images(str(no_images))
    nan = tmp_path / "nan.npz"
    np.savez(nan, images=np.full((2, 2, 2), np.nan, dtype=np.float32))
    with pytest.raises(DataError, match="NaN"):
        load_images(str(nan))
    fake = tmp_path / "fake.npz"
    fake.write_text("this is not a zip archive")
    with pytest.raises(DataError, match=r"fake\.npz: not a readable \.npz"):
        load_images(str(fake))


def test_missing_and_unsupported_image_paths(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_images(str(tmp_path / "nowhere"))
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(DataError, match="is not a folder, an .npz"):
        load_images(str(other))


def test_bundled_lee_corpus():
    raw = load_documents("gensim:lee")
    assert raw.provenance.rows == 300 and len(raw.texts) == 300
    assert "lee_background.cor:1" in raw.row_refs[0]


def test_text_formats(tmp_path):
    txt = tmp_path / "a.txt"
    txt.write_text("First doc\nstill first.\n\n\nSecond doc.\n", encoding="utf-8")
    assert load_documents(str(txt)).texts == ["First doc\nstill first.", "Second doc."]
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"body": "one"}) + "\n\n" + json.dumps({"body": "two"}) + "\n")
    assert load_documents(str(jsonl), "body").texts == ["one", "two"]
    csv_path = tmp_path / "a.csv"
    csv_path.write_text('id,content\n1,"hello, world"\n2,bye\n')
    assert load_documents(str(csv_path), "content").texts == ["hello, world", "bye"]


def test_text_errors_name_file_row_and_field(tmp_path):
    bad_utf8 = tmp_path / "bad.txt"
    bad_utf8.write_bytes(b"fine line\nbroken \xff byte\n")
    with pytest.raises(DataError, match=r"bad\.txt: not valid UTF-8 at byte 17 \(line 2\)"):
        load_documents(str(bad_utf8))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(DataError, match=r"empty\.txt: the corpus is empty"):
        load_documents(str(empty))
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"text": "ok"}\n{"other": 1}\n')
    with pytest.raises(DataError, match=r"a\.jsonl: line 2: no field 'text'"):
        load_documents(str(jsonl))
    jsonl.write_text('{"text": "ok"}\n{broken\n')
    with pytest.raises(DataError, match=r"line 2: not valid JSON"):
        load_documents(str(jsonl))
    csv_path = tmp_path / "a.csv"
    csv_path.write_text("id,body\n1,x\n")
    with pytest.raises(DataError, match=r"a\.csv: no column 'text' \(columns: id, body\)"):
        load_documents(str(csv_path))
    with pytest.raises(DataError, match="does not exist"):
        load_documents(str(tmp_path / "missing.txt"))
