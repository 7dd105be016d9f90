"""Per modality: load the training data, sample, score every family beside its references."""

from genai_platform.evaluation.image import IMAGE
from genai_platform.evaluation.text import TEXT

MODALITIES = {modality.name: modality for modality in (IMAGE, TEXT)}
