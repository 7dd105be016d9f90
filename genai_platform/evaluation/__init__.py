"""Scoring arrays: every family's samples and the references scored against held-out data, the pairs
compared, and the metric self-test's panel. The modalities (genai_platform.modalities) read the data and
call these."""
