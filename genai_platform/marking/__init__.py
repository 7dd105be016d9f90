"""The watermark on every sample and the provenance in every sample file: key, marks, detector, credentials."""
