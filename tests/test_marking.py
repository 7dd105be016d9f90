"""The watermark (genai_platform/marking): the key, the image and text marks, the detector and its command.

Known truth: a mark's null is the key's randomness, so an unmarked item scored under many keys must come out
standard normal (images) or binomial (text) whatever it holds; marked items must be found, and edited ones
as far as the module's docstring claims."""

import io
import json
import math
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import binomtest

from genai_platform.cli import main
from genai_platform.evaluation.marks import (bigram_documents, bits_per_character_cost, detection_rows, edited_images,
                                             edited_texts, text_detection_rows, text_pieces)
from genai_platform.datasets.image_sources import load_images
from genai_platform.datasets.text_sources import load_documents
from genai_platform.marking.credentials import TRAINED_ALGORITHMIC_MEDIA, SampleCredentials, png_credentials, png_with_credentials
from genai_platform.marking.detect import UnreadableSample, detect
from genai_platform.marking.image_mark import STEP, image_mark_scores, mark_images, p_values
from genai_platform.marking.key import KEY_FILE, KEY_VARIABLE, WatermarkKey, watermark_key
from genai_platform.marking.text_mark import GAMMA, GreenList, is_green, text_mark_score
from genai_platform.metrics.catalog import IMAGE_MARK_EDITS, TEXT_MARK_EDITS
from genai_platform.models.bigram import CharacterBigrams
from genai_platform.models.vocab import CharVocabulary
from genai_platform.reporting.plots import image_grid_picture
from genai_platform.verdicts.thresholds import DEFAULT_THRESHOLDS, Threshold, judge, thresholds

KEY = WatermarkKey(b"a test key of the marking tests")


def _keys(n: int) -> list[WatermarkKey]:
    return [WatermarkKey(f"simulation key number {i:05d}".encode()) for i in range(n)]


def _real_images(source: str, n: int) -> np.ndarray:
    raw = load_images(source)
    return raw.pixels[:n].astype(np.float64) / raw.scale


def test_the_key_comes_from_the_variable_or_a_private_file_made_once(tmp_path):
    assert watermark_key({KEY_VARIABLE: "x" * 16}, str(tmp_path)).fingerprint == WatermarkKey(b"x" * 16).fingerprint
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(ValueError, match="at least 16 characters"):
        watermark_key({KEY_VARIABLE: "short"}, str(tmp_path))
    home = tmp_path / "home"
    made = watermark_key({}, str(home))
    assert stat.S_IMODE((home / KEY_FILE).stat().st_mode) == 0o600
    assert watermark_key({}, str(home)).fingerprint == made.fingerprint
    secret = (home / KEY_FILE).read_text()
    assert secret not in repr(made) and secret not in made.fingerprint
    (home / KEY_FILE).chmod(0o644)
    with pytest.raises(ValueError, match="readable by others .* chmod 600"):
        watermark_key({}, str(home))
    with pytest.raises(ValueError, match=f"not a local folder.*set {KEY_VARIABLE}"):
        watermark_key({}, "s3://bucket/home")
    with pytest.raises(ValueError, match="no watermark key: .* does not exist"):  # detection makes none
        watermark_key({}, str(tmp_path / "elsewhere"), create=False)
    assert not (tmp_path / "elsewhere").exists()


def test_processes_starting_at_once_make_one_key(tmp_path):
    """Real processes race to make the key file; all end up with the same key."""
    code = ("import sys; from genai_platform.marking.key import watermark_key; "
            "print(watermark_key({}, sys.argv[1]).fingerprint)")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "home")], stdout=subprocess.PIPE, text=True)
            for _ in range(6)]
    fingerprints = {run.communicate(timeout=120)[0].strip() for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert len(fingerprints) == 1 and sorted(p.name for p in (tmp_path / "home").iterdir()) == [KEY_FILE]


def test_an_image_score_matches_a_hand_computed_case():
    """A 1x2 image has one marked frequency, (0, 1): its orthonormal DCT coefficient is (a - b) / sqrt(2), over
    sqrt(2) for the size, so the score is cos(2 pi ((a - b) / 2 / STEP - d)) / sqrt(1 / 2)."""
    a, b = 0.8, 0.3
    dither = KEY.uniform("image", 0, 1)
    expected = math.cos(2 * math.pi * ((a - b) / 2 / STEP - dither)) / math.sqrt(0.5)
    assert image_mark_scores(np.array([[[[a, b]]]]), KEY)[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("source", ["sklearn:digits", "sklearn:photos"])
def test_unmarked_images_score_standard_normal_under_random_keys(source):
    """300 real images (and a blank one, whose score is the dithers' alone) under 400 keys: the share called
    marked at 1% and 5% is the nominal one."""
    images = np.concatenate([_real_images(source, 300), np.zeros((1, *_real_images(source, 1).shape[1:]))])
    scores = np.concatenate([image_mark_scores(images, key) for key in _keys(400)])
    assert np.mean(p_values(scores) < 0.01) == pytest.approx(0.01, abs=0.002)
    assert np.mean(p_values(scores) < 0.05) == pytest.approx(0.05, abs=0.004)
    assert np.mean(scores) == pytest.approx(0, abs=0.02) and np.std(scores) == pytest.approx(1, abs=0.02)


def _jpeg(images: np.ndarray, quality: int = 75) -> np.ndarray:
    out = []
    for image in images:
        pixels = (np.clip(image.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
        out.append(np.asarray(Image.open(buffer), dtype=np.float64).transpose(2, 0, 1) / 255)
    return np.stack(out)


def _rescaled(images: np.ndarray, factor: float) -> np.ndarray:
    size = round(images.shape[-1] * factor)
    out = []
    for image in images:
        pixels = (np.clip(image.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)
        resized = Image.fromarray(pixels).resize((size, size), Image.BILINEAR)
        out.append(np.asarray(resized, dtype=np.float64).transpose(2, 0, 1) / 255)
    return np.stack(out)


def test_marked_images_are_found_clean_and_after_jpeg_and_rescaling_at_little_cost():
    digits, photos = _real_images("sklearn:digits", 300), _real_images("sklearn:photos", 300)
    for images in (digits, photos):
        marked = mark_images(images, KEY)
        assert np.mean(p_values(image_mark_scores(marked, KEY)) < 0.01) == 1.0
        psnr = 10 * np.log10(1 / np.mean((marked - images) ** 2))
        assert psnr > 33, psnr
        # another key does not find it
        assert np.mean(p_values(image_mark_scores(marked, WatermarkKey(b"some other deployment's key"))) < 0.01) < 0.03
    marked = mark_images(photos, KEY)
    for edited in (_jpeg(marked), _rescaled(marked, 0.75), _rescaled(marked, 2)):
        assert np.mean(p_values(image_mark_scores(edited, KEY)) < 0.01) > 0.95


def test_a_text_score_matches_a_hand_computed_binomial_tail():
    text = "abcdeabcde"  # units after 4 characters: abcd>e, bcde>a, cdea>b, deab>c, eabc>d (abcd>e again not counted)
    units = [("abcd", "e"), ("bcde", "a"), ("cdea", "b"), ("deab", "c"), ("eabc", "d")]
    green = sum(is_green(KEY, context, character) for context, character in units)
    tail = sum(math.comb(5, k) * GAMMA ** k * (1 - GAMMA) ** (5 - k) for k in range(green, 6))
    score = text_mark_score(KEY, [text])
    assert (score.units, score.green) == (5, green) and score.p_value == pytest.approx(tail, rel=1e-12)
    assert text_mark_score(KEY, ["abcd"]).p_value == 1.0 and text_mark_score(KEY, [""]).units == 0
    with pytest.raises(ValueError, match="a context is 4 characters"):
        is_green(KEY, "abc", "d")


def test_unmarked_text_is_called_marked_at_most_as_often_as_the_level_under_random_keys():
    documents = load_documents("gensim:lee").texts[:200]
    p = np.array([text_mark_score(key, [doc]).p_value for key in _keys(60) for doc in documents])
    # binomial tails are discrete, so at most the level, and not far below it with hundreds of pairs a text
    assert 0.004 < np.mean(p < 0.01) <= 0.012 and 0.03 < np.mean(p < 0.05) <= 0.054


def test_the_level_holds_for_each_key_not_only_over_keys():
    """Under one key a language's common units are green or red together, so each key has its own rate on real
    text. With the previous character alone as context, the worst of 200 keys called 12-14% of these pieces
    marked at 1% (marking/text_mark.py); with 4 characters, 40 keys gave 0.2-2.1%."""
    pieces = text_pieces(load_documents("gensim:lee").texts, 300)
    rates = np.array([np.mean([text_mark_score(key, [piece]).p_value < 0.01 for piece in pieces])
                      for key in _keys(12)])
    assert rates.max() < 0.03 and rates.std() < 0.008 and 0.002 < rates.mean() < 0.012, rates


def test_text_sampled_with_the_green_list_is_found_and_without_it_is_not():
    documents = load_documents("gensim:lee").texts[:100]
    characters = sorted(set("".join(documents)))
    model = CharacterBigrams(documents, characters)
    start = [torch.tensor([characters.index(" ")])] * 40
    green_list = GreenList(KEY, characters)
    decode = lambda ids: "".join(characters[i] for i in ids)  # noqa: E731
    marked = model.generate(start, 200, 1.0, torch.Generator().manual_seed(0), green_list)
    plain = model.generate(start, 200, 1.0, torch.Generator().manual_seed(0))
    assert np.mean([text_mark_score(KEY, [decode(row)]).p_value < 0.01 for row in marked]) >= 0.95
    assert np.mean([text_mark_score(KEY, [decode(row)]).p_value < 0.01 for row in plain]) <= 0.05
    greedy = model.generate([torch.tensor([characters.index(c) for c in prompt]) for prompt in ("the ", "at a", "wh")],
                            60, 0.0, None, green_list)
    assert all(text_mark_score(KEY, [decode(row)]).green > GAMMA * text_mark_score(KEY, [decode(row)]).units
               for row in greedy)


def test_the_green_list_steers_only_after_a_whole_context_of_known_characters():
    characters = list("abcdefgh?")
    green_list = GreenList(KEY, characters, skip=frozenset({8}))
    bias = green_list(torch.tensor([[0, 1, 2, 3], [-1, 1, 2, 3], [0, 8, 2, 3], [4, 5, 6, 7]]))
    assert bias.shape == (4, 9) and bias[1:3].abs().sum() == 0 and bias[:, 8].abs().sum() == 0
    for row, context in ((0, "abcd"), (3, "efgh")):
        assert [bool(b) for b in bias[row, :8]] == [is_green(KEY, context, c) for c in "abcdefgh"]


CREDENTIALS = SampleCredentials.now("vae", "run-1", "run-2", None)


def _sample_files(folder):
    digits = _real_images("sklearn:digits", 40)
    picture, layout = image_grid_picture(mark_images(digits, KEY))
    (folder / "marked.png").write_bytes(png_with_credentials(picture, CREDENTIALS, layout))
    (folder / "real.png").write_bytes(png_with_credentials(image_grid_picture(digits)[0], CREDENTIALS))
    np.savez(folder / "marked.npz", images=np.round(mark_images(digits, KEY)[:, 0] * 255).astype(np.uint8))
    # 64 copies of one unmarked image: one image's evidence, not 64 times it
    np.savez(folder / "copies.npz", images=np.repeat(np.round(digits[:1, 0] * 255).astype(np.uint8), 64, axis=0))
    (folder / "real.txt").write_text(load_documents("gensim:lee").texts[0])


def test_detect_reads_pngs_grids_npz_and_text_and_names_an_unreadable_file(tmp_path):
    _sample_files(tmp_path)
    verdicts = {os.path.basename(d.path): d for d in detect([tmp_path], KEY)}
    assert {name: d.marked for name, d in verdicts.items()} == {
        "copies.npz": False, "marked.npz": True, "marked.png": True, "real.png": False, "real.txt": False}
    assert verdicts["marked.png"].items == 40 and verdicts["real.png"].items == 1  # a grid without a layout: one image
    with Image.open(tmp_path / "marked.png") as png:
        fields = png_credentials(png)
        assert TRAINED_ALGORITHMIC_MEDIA in png.text["XML:com.adobe.xmp"]
    assert fields["family"] == "vae" and fields["generator"] == "generated by genai-platform"
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UnreadableSample, match="broken.png: not a readable PNG"):
        detect([tmp_path / "broken.png"], KEY)
    (tmp_path / "photo.jpg").write_bytes(b"")
    with pytest.raises(UnreadableSample, match="photo.jpg: not a sample file"):
        detect([tmp_path / "photo.jpg"], KEY)


def test_the_detect_command_prints_verdicts_or_json_and_exits_2_on_an_unreadable_file(tmp_path, capsys):
    _sample_files(tmp_path)
    env = {KEY_VARIABLE: "a test key of the marking tests", "GENAI_HOME": str(tmp_path / "home")}
    assert main(["detect", str(tmp_path / "marked.png"), str(tmp_path / "real.txt")], env) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'marked.png'}: marked (p = ") and ": not marked (p = " in lines[1]
    assert main(["detect", "--json", str(tmp_path)], env) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [sorted(item) for item in listed] == [["marked", "p_value", "path"]] * 5
    assert {os.path.basename(item["path"]): item["marked"] for item in listed}["marked.npz"] is True
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert main(["detect", str(tmp_path / "broken.npz")], env) == 2
    assert f"{tmp_path / 'broken.npz'}: not a readable .npz file" in capsys.readouterr().err
    # a home without a key is an error, not a new key that finds nothing
    assert main(["detect", str(tmp_path / "marked.png")], {"GENAI_HOME": str(tmp_path / "other")}) == 2
    assert "no watermark key" in capsys.readouterr().err
    # another deployment's key finds nothing
    other = {**env, KEY_VARIABLE: "another deployment's own key"}
    assert main(["detect", "--json", str(tmp_path / "marked.png")], other) == 0
    assert json.loads(capsys.readouterr().out)[0]["marked"] is False


def test_the_nightly_edits_are_the_catalogued_ones_and_change_what_they_say():
    images = _real_images("sklearn:photos", 5).astype(np.float32)
    edits = edited_images(images, seed=0)
    assert tuple(edits) == IMAGE_MARK_EDITS
    assert edits["crop"].shape == (5, 3, 28, 28) and edits["rescale"].shape == (5, 3, 24, 24)
    assert 0.01 < np.std(edits["noise"] - images) < 0.03 and np.abs(edits["jpeg"] - images).mean() > 0.001
    texts = ["one two three four five six seven eight nine ten " * 2]
    edited = edited_texts(texts, ["REPLACED"], seed=0)
    assert tuple(edited) == TEXT_MARK_EDITS
    assert len(edited["deletion"][0].split(" ")) == len(texts[0].split(" ")) - 2
    assert edited["substitution"][0].split(" ").count("REPLACED") == 2


def test_detection_rows_are_shares_below_the_level_with_wilson_intervals():
    p = np.array([0.001] * 37 + [0.5] * 13)
    (clean, after_noise) = detection_rows("vae", p, {"noise": p[:20]})
    wilson = binomtest(37, 50).proportion_ci(method="wilson")
    assert (clean.metric, clean.value, clean.sample_count) == ("mark_detection", 37 / 50, 50)
    assert (clean.ci_low, clean.ci_high) == pytest.approx((wilson.low, wilson.high), abs=1e-9)
    assert after_noise.metric == "mark_detection_noise" and after_noise.value == 1.0


def test_text_detection_is_counted_on_free_samples_and_continuations_apart():
    documents = load_documents("gensim:lee").texts
    free = bigram_documents(documents, 12, 300, seed=0, key=KEY)
    continuations = [text[:8] for text in bigram_documents(documents, 12, 300, seed=1, key=KEY)]
    rows = {row.metric: row for row in text_detection_rows("lstm", free, continuations, documents[0].split(), KEY, 0)}
    assert set(rows) == {"mark_detection", "mark_detection_deletion", "mark_detection_substitution",
                         "mark_detection_continuation"}
    assert rows["mark_detection"].value == 1.0 and rows["mark_detection"].sample_count == 12
    assert rows["mark_detection_continuation"].value < 0.5  # 8 characters, 4 units: mostly too few to find it
    assert "mark_detection_continuation" not in {r.metric for r in text_detection_rows("lstm", free, [],
                                                                                         ["word"], KEY, 0)}


def test_the_bits_per_character_cost_matches_a_hand_computed_ratio_of_sums():
    documents = load_documents("gensim:lee").texts[:50]
    vocab = CharVocabulary(sorted(set("\n".join(documents))))
    model = CharacterBigrams(["\n".join(documents)], vocab.characters)
    bias = GreenList(KEY, vocab.characters)
    start = [vocab.encode("\n")] * 12
    decode = lambda ids: vocab.decode(ids).split("\n", 1)[0]  # noqa: E731
    marked = [decode(row) for row in model.generate(start, 80, 1.0, torch.Generator().manual_seed(0), bias)]
    plain = [decode(row) for row in model.generate(start, 80, 1.0, torch.Generator().manual_seed(0))]

    def bits(documents):  # each character and the closing break after the previous character, from a break
        ids = [vocab.encode("\n" + d + "\n") for d in documents]
        nats = sum(-float(model.log_probs[i[:-1], i[1:]].sum()) for i in ids)
        return nats / sum(len(d) + 1 for d in documents) / math.log(2)

    cost = bits_per_character_cost(model, vocab, marked, plain)
    assert cost.value == pytest.approx(bits(marked) - bits(plain), rel=1e-9)
    assert cost.value > 0 and cost.ci_low < cost.value < cost.ci_high  # the mark makes the text less likely


def test_detection_findings_warn_and_fail_below_their_thresholds():
    limits = DEFAULT_THRESHOLDS
    assert judge("mark_detection", 0.95, 200, limits["mark_detection"], 0.92, 0.98) == "pass"
    assert judge("mark_detection", 0.80, 200, limits["mark_detection"], 0.74, 0.85) == "warn"
    assert judge("mark_detection", 0.30, 200, limits["mark_detection"], 0.24, 0.37) == "warn"  # never fails
    assert judge("mark_detection", 0.30, 200, Threshold(0.9, 0.5), 0.24, 0.37) == "fail"  # unless set to
    assert judge("mark_detection", 0.88, 200, limits["mark_detection"], 0.80, 0.93) == "pass"  # may be noise
    assert judge("mark_detection_crop", 0.0, 200, limits["mark_detection_crop"], 0.0, 0.02) == "warn"  # never fails
    assert thresholds({"mark_detection": [0.8, 0.3]})["mark_detection"] == Threshold(0.8, 0.3)
    with pytest.raises(ValueError, match=r"warn >= fail \(higher is better\)"):
        thresholds({"mark_detection": [0.3, 0.8]})


def test_held_out_text_is_cut_into_pieces_as_long_as_a_sample():
    assert text_pieces(["abcdefg", "hij", "klmnop"], 3) == ["abc", "def", "hij", "klm", "nop"]
    assert text_pieces(["abcdefg"], 3, limit=1) == ["abc"]
