"""The family registry and contract: where models, training and evaluation meet."""
