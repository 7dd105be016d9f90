import os

import pytest

from genai_platform.resources import resources_from_env


@pytest.fixture
def smoke_env(tmp_path):
    """Environment of a smoke-profile run in a temporary GENAI_HOME and reports folder."""
    return {**os.environ, "GENAI_PROFILE": "smoke", "GENAI_HOME": str(tmp_path / "home"),
            "GENAI_REPORTS_DIR": str(tmp_path / "reports"), "GENAI_SEED": "0",
            "GENAI_IMAGE_SOURCE": "sklearn:digits", "GENAI_TEXT_SOURCE": "gensim:lee"}


@pytest.fixture
def smoke_resources(smoke_env):
    return resources_from_env(smoke_env)
