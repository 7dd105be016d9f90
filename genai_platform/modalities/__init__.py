"""The modalities: one plug-in per kind of data (base.Modality), composed of its data, sampling, scoring,
report and self-test parts. The Dagster assets, the family registry and the reports hold a modality
object and call it; nothing else asks "image or text?". A third modality is one more plug-in:
`register_modality` adds it."""

from genai_platform.modalities.base import Modality
from genai_platform.modalities.image import IMAGE
from genai_platform.modalities.text import TEXT

MODALITIES: dict[str, Modality] = {}


def register_modality(modality: Modality) -> Modality:
    """Add a modality; its families, assets and report sections then follow from it."""
    if modality.name in MODALITIES:
        raise ValueError(f"modality name {modality.name!r} is taken")
    MODALITIES[modality.name] = modality
    return modality


for _modality in (IMAGE, TEXT):
    register_modality(_modality)
