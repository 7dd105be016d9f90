"""fingerprints: a family's code version follows what its model imports, for a module of any package
(a file, a zip), and not what it does not import."""

import sys
import zipfile

import pytest

from toy_family import TOY_FAMILY

from genai_platform.families.registry import FAMILIES, Family, image_model
from genai_platform.fingerprints import (digest, family_code_version, modality_code_version, module_source,
                                         sample_fingerprint, sampling_code_version)


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    """A folder on sys.path whose modules are forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]
    family_code_version.cache_clear()
    modality_code_version.cache_clear()
    sampling_code_version.cache_clear()


def _write_package(root, name: str, net: str = "WIDTH = 8\n") -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text("from .net import WIDTH\nfrom genai_platform.models.base import ImageGenerator\n")
    (package / "net.py").write_text(net)
    (package / "unrelated.py").write_text("X = 1\n")


def test_a_family_module_of_another_package_follows_its_relative_imports(on_path):
    _write_package(on_path, "acme_models")
    first = family_code_version("acme_models.model")
    family_code_version.cache_clear()
    (on_path / "acme_models" / "unrelated.py").write_text("X = 2\n")
    assert family_code_version("acme_models.model") == first  # not imported by the model: no change
    family_code_version.cache_clear()
    (on_path / "acme_models" / "net.py").write_text("WIDTH = 16\n")
    assert family_code_version("acme_models.model") != first


def test_a_plugin_family_covers_its_model_module_and_what_its_package_init_holds(on_path):
    """A config class in one module and the model in another (reached through `from acme import net`, the
    package's __init__): a change in either changes the family's code version."""
    package = on_path / "acme_split"
    package.mkdir()
    (package / "__init__.py").write_text("from acme_split import net\n")
    (package / "config.py").write_text("from dataclasses import dataclass\n\n@dataclass\nclass Config:\n    width: int = 8\n")
    (package / "net.py").write_text("DEPTH = 2\n")
    (package / "model.py").write_text("from acme_split import net\nfrom genai_platform.models.base import ImageGenerator\n\n"
                                      "class Model(ImageGenerator):\n    pass\n")
    from acme_split.config import Config
    from acme_split.model import Model
    family = Family(**{**TOY_FAMILY.__dict__, "name": "split", "config_type": Config, "build": image_model(Model)})
    first = family.code_version
    for path, text in ((package / "model.py", "# changed\n"), (package / "net.py", "DEPTH = 3\n")):
        family_code_version.cache_clear()
        path.write_text(path.read_text() + text)
        assert family.code_version != first, path
        first = family.code_version


def test_a_module_in_a_zip_has_a_code_version(on_path):
    archive = on_path / "acme.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("acme_zipped/__init__.py", "")
        z.writestr("acme_zipped/model.py", "from acme_zipped.net import WIDTH\n")
        z.writestr("acme_zipped/net.py", "WIDTH = 8\n")
    sys.path.insert(0, str(archive))
    try:
        assert "WIDTH = 8" in module_source("acme_zipped.net")
        assert len(family_code_version("acme_zipped.model")) == 12
    finally:
        sys.path.remove(str(archive))


def test_a_module_without_source_is_named():
    with pytest.raises(ValueError, match="'no_such_module_here' has no source"):
        module_source("no_such_module_here")


def test_the_built_in_families_have_code_versions_that_differ_by_model():
    versions = {name: family.code_version for name, family in FAMILIES.items()}
    assert len(set(versions.values())) == len(versions), versions


def test_digest_is_of_the_parts_not_their_order_in_a_mapping():
    assert digest({"a": 1, "b": 2}, 3) == digest({"b": 2, "a": 1}, 3) != digest({"a": 1, "b": 2}, 4)


def test_a_sample_set_is_drawn_again_when_its_modality_plugin_or_the_watermark_key_changes(on_path):
    """A modality of another package: its module, and what it imports of its package, decide re-use of samples;
    so does the key that marks them."""
    _write_package(on_path, "acme_signals")
    first = sample_fingerprint("v1", "smoke", 0, "acme_signals.model", 200, "k1")
    assert sample_fingerprint("v1", "smoke", 0, "acme_signals.model", 200, "k1") == first
    assert sample_fingerprint("v1", "smoke", 0, "genai_platform.modalities.image", 200, "k1") != first
    assert sample_fingerprint("v1", "smoke", 0, "acme_signals.model", 400, "k1") != first  # another count: another set
    assert sample_fingerprint("v1", "smoke", 0, "acme_signals.model", 200, "k2") != first  # another key
    modality_code_version.cache_clear()
    sampling_code_version.cache_clear()
    (on_path / "acme_signals" / "net.py").write_text("WIDTH = 16\n")
    assert sample_fingerprint("v1", "smoke", 0, "acme_signals.model", 200, "k1") != first
