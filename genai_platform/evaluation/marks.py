"""The watermark's nightly measurements (marking/): how often a family's samples are found at a 1% false-positive
rate, clean and after light edits a person passing them off might make; how often held-out real data is found
(the false positives); and what the mark costs in quality, marked against unmarked samples of the same seeds.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image

from genai_platform.evaluation.text_scores import document_nats
from genai_platform.marking.detect import ALPHA
from genai_platform.marking.image_mark import image_mark_scores, p_values
from genai_platform.marking.key import WatermarkKey
from genai_platform.marking.text_mark import GreenList, text_mark_score
from genai_platform.metrics.intervals import mean_estimate, paired_ratio_difference
from genai_platform.models.bigram import CharacterBigrams
from genai_platform.models.vocab import CharVocabulary
from genai_platform.records import Estimate, MetricRow

CROP_SHARE = 0.05  # of the height and width cut from each side (at least one pixel)
RESCALE = 0.75  # bilinear, to this share of the size
JPEG_QUALITY = 75
NOISE_SD = 0.02  # Gaussian pixel noise, pixels in [0, 1] (about 5 of 255 grey levels)
EDITED_WORDS = 0.10  # share of a text's words deleted, or replaced by words of held-out real text
QUALITY_COST_SAMPLES = 1000  # image samples redrawn unmarked for the mark's FID cost


def _pil(image: np.ndarray) -> Image.Image:
    pixels = (np.clip(image.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def _array(picture: Image.Image) -> np.ndarray:
    pixels = np.asarray(picture, dtype=np.float32) / 255
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _jpeg(image: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    _pil(image).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    with Image.open(buffer) as decoded:
        return _array(decoded)


def jpeg_images(images: np.ndarray) -> np.ndarray:
    """`images` [N, C, H, W] after JPEG compression at JPEG_QUALITY."""
    return np.stack([_jpeg(image) for image in images])


def edited_images(images: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """`images` [N, C, H, W] after each edit of catalog.IMAGE_MARK_EDITS."""
    height, width = images.shape[-2:]
    cut_h, cut_w = max(1, round(height * CROP_SHARE)), max(1, round(width * CROP_SHARE))
    size = (max(1, round(width * RESCALE)), max(1, round(height * RESCALE)))
    noise = np.random.default_rng(seed).normal(0, NOISE_SD, images.shape)
    return {"crop": images[..., cut_h:height - cut_h, cut_w:width - cut_w],
            "rescale": np.stack([_array(_pil(image).resize(size, Image.BILINEAR)) for image in images]),
            "jpeg": jpeg_images(images),
            "noise": np.clip(images + noise, 0, 1).astype(np.float32)}


def edited_texts(texts: list[str], replacement_words: list[str], seed: int) -> dict[str, list[str]]:
    """`texts` with EDITED_WORDS of their words deleted, and replaced by words of `replacement_words`."""
    rng = np.random.default_rng(seed)
    deleted, substituted = [], []
    for text in texts:
        words = text.split(" ")
        chosen = set(rng.choice(len(words), size=round(len(words) * EDITED_WORDS), replace=False).tolist())
        deleted.append(" ".join(w for i, w in enumerate(words) if i not in chosen))
        substituted.append(" ".join(replacement_words[rng.integers(len(replacement_words))] if i in chosen else w
                                    for i, w in enumerate(words)))
    return {"deletion": deleted, "substitution": substituted}


def detection_row(subject: str, p: np.ndarray, metric: str = "mark_detection") -> MetricRow:
    """`metric`: the share of items with p < ALPHA, Wilson interval."""
    return MetricRow.of(subject, metric, mean_estimate((np.asarray(p) < ALPHA).astype(np.float64)))


def detection_rows(subject: str, clean: np.ndarray, edited: dict[str, np.ndarray]) -> list[MetricRow]:
    """mark_detection and mark_detection_<edit>."""
    return [detection_row(subject, clean),
            *(detection_row(subject, p, f"mark_detection_{edit}") for edit, p in edited.items())]


def false_positive_row(reference: str, p: np.ndarray) -> MetricRow:
    return detection_row(reference, p, "mark_false_positive_rate")


def image_p_values(images: np.ndarray, key: WatermarkKey) -> np.ndarray:
    return p_values(image_mark_scores(images, key))


def image_detection_rows(family: str, samples: np.ndarray, key: WatermarkKey, seed: int) -> list[MetricRow]:
    edits = edited_images(samples, seed)
    return detection_rows(family, image_p_values(samples, key),
                          {edit: image_p_values(images, key) for edit, images in edits.items()})


def text_p_values(texts: list[str], key: WatermarkKey) -> np.ndarray:
    return np.array([text_mark_score(key, [text]).p_value for text in texts])


def text_pieces(documents: list[str], characters: int, limit: int = 2000) -> list[str]:
    """Consecutive pieces of `characters` characters cut from `documents` (a shorter last piece dropped), at most
    `limit`: held-out text in units as long as a free sample, so the false positives are counted at the length the
    samples are judged at (a corpus of a few long documents would otherwise give a handful of units)."""
    pieces = [document[start:start + characters] for document in documents
              for start in range(0, len(document) - characters + 1, characters)]
    return pieces[:limit]


def text_detection_rows(family: str, free: list[str], continuations: list[str], replacement_words: list[str],
                        key: WatermarkKey, seed: int) -> list[MetricRow]:
    """mark_detection and its edits on the free samples, mark_detection_continuation on the continuations: a
    sentence carries far less evidence than a free sample, so one rate over both would say more about their mix
    than about the mark."""
    edits = edited_texts(free, replacement_words, seed)
    rows = detection_rows(family, text_p_values(free, key),
                          {edit: text_p_values(texts, key) for edit, texts in edits.items()})
    if continuations:
        rows.append(detection_row(family, text_p_values(continuations, key), "mark_detection_continuation"))
    return rows


def bits_per_character_cost(model, vocab: CharVocabulary, marked: list[str], unmarked: list[str]) -> Estimate | None:
    """Bits per character of the marked documents minus the unmarked ones of the same seeds, both under the model
    itself: how much less likely the model finds what the mark made it write. The delete-one jackknife over the
    pairs of documents (intervals.paired_ratio_difference); None when either side wrote no character."""
    marked_nats, marked_chars = document_nats(model, vocab, marked)
    plain_nats, plain_chars = document_nats(model, vocab, unmarked)
    if not marked_chars.sum() or not plain_chars.sum():
        return None
    return paired_ratio_difference(marked_nats / math.log(2), marked_chars, plain_nats / math.log(2), plain_chars)


def bigram_documents(documents: list[str], count: int, characters: int, seed: int,
                     key: WatermarkKey | None = None) -> list[str]:
    """`count` texts of `characters` characters from the character bigram frequencies of `documents`
    (models/bigram.py), each started at a document's first character; with `key`, sampled with the green list as a
    text family is (marking/text_mark.py). A generator whose marking is known, for the metric self-test."""
    alphabet = sorted(set("".join(documents)))
    model = CharacterBigrams(documents, alphabet)
    rng = np.random.default_rng(seed)
    starts = [torch.tensor([alphabet.index(documents[i][0])]) for i in rng.integers(len(documents), size=count)]
    rows = model.generate(starts, characters - 1, 1.0, torch.Generator().manual_seed(seed),
                          None if key is None else GreenList(key, alphabet))
    return ["".join(alphabet[i] for i in [int(start[0]), *row.tolist()]) for start, row in zip(starts, rows)]
