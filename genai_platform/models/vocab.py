"""Character vocabulary for the text families."""

from __future__ import annotations

import torch

UNKNOWN = "\ufffd"
DOCUMENT_BREAK = "\n"


class CharVocabulary:
    """Index 0 is the unknown character, 1 the document break; then characters by frequency."""

    def __init__(self, characters: list[str]):
        specials = [UNKNOWN, DOCUMENT_BREAK]
        self.characters = specials + [c for c in characters if c not in specials]
        self.index = {c: i for i, c in enumerate(self.characters)}

    def __len__(self) -> int:
        return len(self.characters)

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor([self.index.get(c, 0) for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.characters[int(i)] for i in ids)

    def encode_documents(self, documents: list[str]) -> torch.Tensor:
        """Documents joined by the break character, with a break before the first."""
        return self.encode(DOCUMENT_BREAK + DOCUMENT_BREAK.join(documents) + DOCUMENT_BREAK)
