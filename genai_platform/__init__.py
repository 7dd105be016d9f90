"""genai-platform: nightly retraining and evaluation of generative models on Dagster."""

__version__ = "0.1.0"
