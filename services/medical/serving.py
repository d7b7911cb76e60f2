"""The servicer's volume steps: slice-wise scoring through a backend, slice / volume decisions, flagged voxels.

:meth:`services.medical.detectors.base.MedicalSlices.score_volume` scores a volume in process; the service
instead sends batches of 2.5D stacks to ``model.backend`` (inline, Ray Serve replicas or Triton) so the model
work is where the backend puts it, while decoding, windowing and writing stay in the service.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.core.calibration import ConformalCalibrator, Decision, Rule, decide, simes
from services.medical.detectors.base import VolumeResult

__all__ = ["SliceDecisions", "decide_slices", "flagged_voxels", "pixel_threshold", "score_volume",
           "split_studies"]


async def score_volume(backend: Any, intensities: np.ndarray, config: dict[str, Any]) -> VolumeResult:
    """Normalised volume ``(X, Y, Z)`` in [0, 1] -> slice scores, volume score and 3-D map, scored by ``backend``.

    Mirrors ``MedicalSlices.score_volume`` (same foreground rule, top-k volume score and map layout) with the
    model's stored configuration; batches of ``volume_batch`` stacks go to the backend concurrently.
    """
    from services.medical.slices import foreground_fraction, maps_to_volume, slice_stacks

    offset = int(config.get("neighbour_offset", 1))
    batch = int(config.get("volume_batch", 16))
    stacks = slice_stacks(intensities, offset)  # (Z, 3, Y, X)
    scored = foreground_fraction(stacks) >= float(config.get("min_foreground", 0.02))
    if not scored.any():
        scored[:] = True
    index = np.flatnonzero(scored)
    parts = [index[start:start + batch] for start in range(0, len(index), batch)]
    answers = await asyncio.gather(*(backend.score_and_explain(stacks[part]) for part in parts))
    scores = np.zeros(len(stacks), np.float32)
    maps = np.zeros((len(stacks), *stacks.shape[-2:]), np.float32)
    for part, (part_scores, part_maps) in zip(parts, answers, strict=True):
        scores[part], maps[part] = part_scores, part_maps
    scores[~scored] = scores[scored].min()
    k = min(int(config.get("volume_topk", 3)), int(scored.sum()))
    volume_score = float(np.sort(scores[scored])[-k:].mean())
    return VolumeResult(scores, scored, volume_score, maps_to_volume(maps))


@dataclass(frozen=True)
class SliceDecisions:
    """Per-slice p-values and flags ``(Z,)`` (unscored slices: p = 1, not flagged) and the volume's decision."""

    p_values: np.ndarray
    decision: Decision
    volume_p_value: float
    volume_anomalous: bool


def decide_slices(calibrator: ConformalCalibrator, result: VolumeResult, rule: Rule, alpha: float
                  ) -> SliceDecisions:
    """Conformal slice p-values, the rule over the scored slices, and the volume decision.

    The volume p-value is Simes' combination of the scored slices' p-values (times the harmonic factor
    ``sum 1/i`` under Benjamini–Yekutieli), so under BH / BY the volume is anomalous exactly when at least one
    slice is flagged; under the plain ``alpha`` rule it is a level-``alpha`` test of "every slice is normal".
    """
    scored = result.scored
    p_values = np.ones(len(scored), np.float64)
    flags = np.zeros(len(scored), bool)
    p_scored = calibrator.p_values(result.slice_scores[scored])
    decided = decide(p_scored, rule, alpha)
    p_values[scored], flags[scored] = p_scored, decided.anomalous
    volume_p = simes(p_scored, rule)
    volume = bool(decide(np.array([volume_p]), Rule.ALPHA, alpha).anomalous[0])
    return SliceDecisions(p_values, Decision(flags, decided.threshold, decided.rule, decided.alpha), volume_p,
                          volume)


def pixel_threshold(calibrator: ConformalCalibrator, p_threshold: float, alpha: float) -> float:
    """The lowest held-out normal score whose own p-value passes the slice cut-off: map values above it
    would flag a slice on their own (slice scores are top-k means of the map)."""
    normal = calibrator.scores_
    cut = p_threshold if p_threshold > 0 else alpha
    passing = normal[calibrator.p_values(normal) <= cut]
    return float(passing.min()) if passing.size else float(normal.max())


def flagged_voxels(result: VolumeResult, flags: np.ndarray, threshold: float) -> np.ndarray:
    """bool ``(X, Y, Z)``: voxels of flagged slices whose map value reaches ``threshold``."""
    return (result.anomaly_map >= threshold) & flags[None, None, :]


def split_studies(per_study: list[np.ndarray], fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(train, calibration) stacks of several normal studies: whole trailing studies are held out when there
    are enough of them (``round(len · fraction) >= 1``), else evenly spaced slices (then the p-values are
    calibrated on the training subjects' other slices — optimistic for new subjects)."""
    held = round(len(per_study) * fraction)
    if len(per_study) >= 2 and held >= 1:
        return np.concatenate(per_study[:-held]), np.concatenate(per_study[-held:])
    stacks = np.concatenate(per_study)
    calibration = np.unique(np.linspace(0, len(stacks) - 1, max(2, round(len(stacks) * fraction))).round().astype(int))
    return stacks[np.setdiff1d(np.arange(len(stacks)), calibration)], stacks[calibration]
