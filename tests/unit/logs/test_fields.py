"""The parser-free field model on the real dpkg log: open slots, kinds, classes, ranges, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from services.logs.data import load_dpkg
from services.logs.detectors.contralog.fields import FieldModel, word_class, word_kind
from services.logs.detectors.contralog.tokenizer import strip_prefix
from services.logs.text import session_lines


@pytest.fixture(scope="module")
def model() -> FieldModel:
    train, _, _ = load_dpkg().split()
    return FieldModel().fit([strip_prefix(line) for s in train.sessions for line in session_lines(s)])


def test_kinds_and_classes() -> None:
    assert word_kind("252.38-1~deb12u1") == "0.0-0~a0a0"
    assert word_kind("perl-modules-5.36:all") == "a-a-0.0:a"
    assert word_class("252.38-1~deb12u1") == "0+.0a" and word_class("1.2") == "0+.0"
    assert word_class("-1") == "-+.0" and word_class("0xdeadbeef") == "0+0a"


def test_open_slots_become_kinds_closed_words_stay(model: FieldModel) -> None:
    # a package name never seen in training, in the slot that always holds package names
    assert model.normalise("install brand-new-tool:amd64 <none> 1.2-3") == "install a-a-a:a0 <none> 1.2-3"
    assert model.normalise("status installed new-tool:all 1.2-3+deb12u1") == "status installed a-a:a 0.0-0+a0a0"
    # a word never seen where only a handful of words ever stood is not a variable
    assert model.normalise("status exploded brand-new-tool:amd64 1.2-3").startswith("status exploded ")
    assert model.skeleton("status installed brand-new-tool:amd64 1.2-3") == "status installed * *"


def test_novel_kind_outscores_novel_value_and_errors_outscore_identifiers(model: FieldModel) -> None:
    new_name = model.surprisal("status installed brand-new-tool:amd64 1.2-3")
    new_version = model.surprisal("status installed libc-bin:amd64 2.99-1+deb12u1")
    bad_version = model.surprisal("status installed libc-bin:amd64 -1")
    error = model.surprisal("dpkg: error processing package libc-bin:amd64 (--configure):")
    new_status = model.surprisal("status failed-config libc-bin:amd64 2.36-9")
    assert max(new_name, new_version) < 3.0 < min(bad_version, error, new_status)


def test_numbers_out_of_their_slot_range_score_by_orders_of_magnitude() -> None:
    model = FieldModel().fit([f"sent {n} bytes to node" for n in range(100, 1000, 7)])
    assert model.surprisal("sent 512 bytes to node") < 1.0
    assert model.surprisal("sent 5120000 bytes to node") > model.surprisal("sent 51200 bytes to node") + 4.0


def test_round_trip_through_uint8(model: FieldModel) -> None:
    array = model.to_array()
    assert array.dtype == np.uint8
    again = FieldModel.from_array(array)
    for line in ("install x:all <none> 1.0", "dpkg: error processing package x (--configure):"):
        assert again.surprisal(line) == model.surprisal(line)
        assert again.normalise(line) == model.normalise(line)
