"""Image and text sources: the supported formats load, and each bad input names its file."""

import gzip
import hashlib
import json
import struct

import duckdb
import numpy as np
import pytest
from PIL import Image

from genai_platform.datasets.image_sources import LISTED_PROBLEMS, MIN_IMAGE_SIZE, load_images
from genai_platform.datasets.text_sources import load_documents
from genai_platform.errors import DataError
from genai_platform.store.sql import sql
from genai_platform.store.tables import read_image_split, write_raw_images


def _png(path, size=(9, 8), value=128, mode="L"):
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
    assert raw.pixels.shape == (3, 3, 8, 9)  # one colour image makes every image RGB
    assert raw.labels.tolist() == [0, 1, 1] and raw.class_names == ["cat", "dog"]


def test_folder_errors_name_the_file(tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "a2.png")
    _png(tmp_path / "b.png", size=(10, 10))
    with pytest.raises(DataError, match=r"b\.png: image is 10x10 but 2 others are 9x8; all images must have"):
        load_images(str(tmp_path))
    (tmp_path / "b.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"b\.png: not a readable image"):
        load_images(str(tmp_path))
    truncated = tmp_path / "b.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 9), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    with pytest.raises(DataError, match=r"b\.png"):
        load_images(str(tmp_path))


def test_idx_with_labels_beside_it(tmp_path):
    images = np.arange(2 * 8 * 9).reshape(2, 8, 9) % 256
    _idx(tmp_path / "train-images-idx3-ubyte.gz", images, 3)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([3, 1]), 1)
    raw = load_images(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert raw.pixels.shape == (2, 1, 8, 9) and raw.labels.tolist() == [3, 1] and len(raw.provenance.files) == 2


def test_images_below_the_minimum_size_are_refused_naming_the_source(tmp_path):
    for shape in ((4, 1, 1), (4, 7, 9), (4, 9, 7)):
        tiny = tmp_path / "tiny.npz"
        np.savez(tiny, images=np.zeros(shape, dtype=np.uint8))
        with pytest.raises(DataError, match=rf"tiny\.npz: images are {shape[2]}x{shape[1]} pixels; the smallest the "
                                            rf"families train on is {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE}"):
            load_images(str(tiny))


def test_one_error_names_every_bad_image_of_a_folder_up_to_a_cap(tmp_path):
    for i in range(30):
        _png(tmp_path / "good" / f"{i:02d}.png")
    (tmp_path / "good" / "broken.png").write_bytes(b"not a png")
    _png(tmp_path / "good" / "wide.png", size=(12, 8))
    with pytest.raises(DataError) as error:
        load_images(str(tmp_path / "good"))
    lines = str(error.value).splitlines()
    assert lines[0] == f"image folder {tmp_path / 'good'}: 2 of 32 images cannot be used:"
    assert "broken.png: not a readable image" in lines[1] and "wide.png: image is 12x8 but 30 others are 9x8" in lines[2]
    for i in range(LISTED_PROBLEMS + 5):
        (tmp_path / "bad" / f"{i:02d}.png").parent.mkdir(exist_ok=True)
        (tmp_path / "bad" / f"{i:02d}.png").write_bytes(b"junk")
    _png(tmp_path / "bad" / "ok.png")
    with pytest.raises(DataError) as error:
        load_images(str(tmp_path / "bad"))
    lines = str(error.value).splitlines()
    assert f"{LISTED_PROBLEMS + 5} of {LISTED_PROBLEMS + 6} images cannot be used" in lines[0]
    assert len(lines) == 1 + LISTED_PROBLEMS + 1 and lines[-1] == "- ... and 5 more"


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
    np.savez(good, images=np.zeros((3, 8, 8), dtype=np.uint8), labels=np.array([0, 1, 0]))
    raw = load_images(str(good))
    assert raw.pixels.shape == (3, 1, 8, 8) and raw.labels.tolist() == [0, 1, 0]
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
    csv_path.write_bytes(b"text\nhello\nwor\x00ld\n")
    with pytest.raises(DataError, match=r"a\.csv: line 3: a NUL byte \(\\x00\)"):
        load_documents(str(csv_path))


def test_a_byte_order_mark_is_removed_and_noted_not_made_a_token(tmp_path):
    for name, content, field in (("a.txt", "First doc.\n\nSecond doc.\n", "text"),
                                 ("a.csv", "body\nFirst doc.\nSecond doc.\n", "body"),
                                 ("a.jsonl", '{"text": "First doc."}\n{"text": "Second doc."}\n', "text")):
        (tmp_path / name).write_bytes(("\ufeff" + content).encode())
        raw = load_documents(str(tmp_path / name), field)
        assert raw.texts == ["First doc.", "Second doc."] and "\ufeff" not in "".join(raw.texts)
        assert raw.notes == ["a UTF-8 byte-order mark at the start of the file was removed"]
        assert "byte-order mark" in raw.provenance.description


def test_sixteen_bit_images_keep_their_precision_through_the_store(tmp_path):
    """A 16-bit PNG folder is kept at 16 bits (scale 65535), not saturated, all the way to the training
    split; an 8-bit image beside it is widened (x 257)."""
    rng = np.random.default_rng(0)
    deep = rng.integers(0, 65536, (20, 8, 9), dtype=np.uint16)
    for i, image in enumerate(deep):
        (tmp_path / "d").mkdir(exist_ok=True)
        Image.fromarray(image).save(tmp_path / "d" / f"{i:02d}.png")  # mode I;16
    _png(tmp_path / "d" / "zz_8bit.png", value=255)
    raw = load_images(str(tmp_path / "d"))
    assert raw.pixels.dtype == np.uint16 and raw.scale == 65535.0
    assert (raw.pixels[:20, 0] == deep).all() and (raw.pixels[20] == 65535).all()
    assert "20 of 21 images are 16-bit and kept at 16 bits" in raw.notes[0]
    con = duckdb.connect()
    write_raw_images(con, raw)
    con.execute(sql("images", "stage"))
    con.execute(sql("images", "swap_in"))
    pixels = np.concatenate([read_image_split(con, s).pixels for s in ("train", "val", "test")
                             if con.execute("SELECT count(*) FROM images WHERE split = ?", [s]).fetchone()[0]])
    expected = np.sort((raw.pixels.astype(np.float64) / 65535).ravel())
    assert np.allclose(np.sort(pixels.ravel()), expected, atol=1e-7)
    # only the white 8-bit image is at 1.0, not the 99.5% that converting to 8 bits saturated
    assert (pixels == 1).mean() == pytest.approx(1 / 21, abs=1e-3)


def test_alpha_empty_classes_and_decompression_bombs_are_reported_naming_the_file(tmp_path):
    _png(tmp_path / "cat" / "a.png", value=10)
    (tmp_path / "dog").mkdir()
    Image.new("RGBA", (9, 8), (1, 2, 3, 128)).save(tmp_path / "cat" / "b.png")
    raw = load_images(str(tmp_path))
    assert raw.class_names == ["cat"] and raw.pixels.shape == (2, 3, 8, 9)
    assert any("1 images had an alpha channel, which was dropped (first: " in n and "b.png" in n for n in raw.notes)
    assert any("class folder(s) dog hold no images and are left out" in n for n in raw.notes)
    assert "alpha channel" in raw.provenance.description and "dog" in raw.provenance.description
    big = tmp_path / "bomb" / "huge.png"
    big.parent.mkdir()
    Image.new("L", (2000, 2000)).save(big)
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1000  # anything over twice this is a bomb to PIL
    try:
        with pytest.raises(DataError, match=r"huge\.png: not a readable image .*decompression bomb"):
            load_images(str(tmp_path / "bomb"))
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def test_raw_images_are_stored_as_bytes_and_read_back_exactly():
    raw = load_images("sklearn:digits")
    con = duckdb.connect()
    write_raw_images(con, raw)
    kind, blob = con.execute("SELECT dtype, pixels FROM raw_images WHERE row_id = 5").fetchone()
    assert kind == "uint8" and bytes(blob) == raw.pixels[5].tobytes()  # 64 bytes, not 64 floats
    con.execute(sql("images", "stage"))
    (row_hash,) = con.execute("SELECT content_hash FROM images_staging WHERE row_id = 5").fetchone()
    assert row_hash == hashlib.md5(raw.pixels[5].tobytes()).hexdigest()
    con.execute(sql("images", "swap_in"))
    train = read_image_split(con, "train")
    ids = [r[0] for r in con.execute("SELECT row_id FROM images WHERE split = 'train' ORDER BY row_id").fetchall()]
    assert np.array_equal(train.pixels, raw.pixels[ids].astype(np.float32) / np.float32(16))
    assert train.labels.tolist() == raw.labels[ids].tolist()


def test_symbolic_links_are_followed_inside_the_source_folder_and_refused_outside_it(tmp_path):
    root = tmp_path / "images"
    _png(root / "cat" / "a.png")
    _png(tmp_path / "elsewhere" / "b.png")
    (root / "dog").mkdir()
    (root / "dog" / "a_again.png").symlink_to(root / "cat" / "a.png")  # a file inside: followed
    (root / "cow").symlink_to(root / "cat", target_is_directory=True)  # a folder inside: followed like a folder
    (root / "cat" / "loop").symlink_to(root, target_is_directory=True)  # a folder seen once, so no loop
    raw = load_images(str(root))
    assert raw.class_names == ["cat", "cow", "dog"] and raw.labels.tolist() == [0, 1, 2]
    (root / "dog" / "b.png").symlink_to(tmp_path / "elsewhere" / "b.png")
    with pytest.raises(DataError, match=rf"{root / 'dog' / 'b.png'} is a symbolic link to .*b\.png, outside the "
                                        rf"source folder {root}: links are followed only within it"):
        load_images(str(root))
    (root / "dog" / "b.png").unlink()
    (root / "dog" / "gone.png").symlink_to(tmp_path / "nothing.png")
    with pytest.raises(DataError, match=r"gone\.png is a symbolic link to .*nothing\.png, which does not exist"):
        load_images(str(root))
