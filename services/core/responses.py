"""Turning scores into the shared response messages: p-values, decisions and flagged regions."""

from __future__ import annotations

import numpy as np

from polyad.common.v1 import common_pb2
from services.core.calibration import DEFAULT_ALPHA, Decision, Rule
from services.core.codecs import from_numpy
from services.core.errors import InvalidInputError

__all__ = ["RULES_BY_NAME", "DecisionRequest", "decisions_proto", "policy_from_proto", "regions_proto"]

_RULES = {
    common_pb2.DECISION_RULE_UNSPECIFIED: Rule.ALPHA,
    common_pb2.DECISION_RULE_ALPHA: Rule.ALPHA,
    common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG: Rule.BH,
    common_pb2.DECISION_RULE_BENJAMINI_YEKUTIELI: Rule.BY,
}
_PROTO_RULES = {
    Rule.ALPHA: common_pb2.DECISION_RULE_ALPHA,
    Rule.BH: common_pb2.DECISION_RULE_BENJAMINI_HOCHBERG,
    Rule.BY: common_pb2.DECISION_RULE_BENJAMINI_YEKUTIELI,
}
RULES_BY_NAME: dict[str, int] = {rule.value: code for rule, code in _PROTO_RULES.items()}
"""Short rule names of the REST API and CLI ("alpha", "bh", "by") → ``common.v1.DecisionRule``."""
DecisionRequest = tuple[Rule, float, int]


MAX_WINDOW = 4096
"""Most recent p-values a stream FDR rule may look back over."""


def policy_from_proto(policy: common_pb2.DecisionPolicy, default_window: int = 256) -> DecisionRequest:
    """(rule, alpha, window) from a request policy, with defaults; bad values are input errors."""
    if policy.window > MAX_WINDOW:
        raise InvalidInputError(f"policy.window must be at most {MAX_WINDOW}, got {policy.window}", "policy.window")
    if policy.rule not in _RULES:
        raise InvalidInputError(f"policy.rule {policy.rule} is unknown; expected one of {sorted(_RULES)}")
    alpha = policy.alpha or DEFAULT_ALPHA
    if not 0.0 < alpha < 1.0:
        raise InvalidInputError(f"policy.alpha must be in (0, 1), got {alpha}")
    return _RULES[policy.rule], alpha, int(policy.window or default_window)


def decisions_proto(p_values: np.ndarray, decision: Decision) -> common_pb2.Decisions:
    """``common.v1.Decisions`` for one item."""
    return common_pb2.Decisions(
        p_values=from_numpy(p_values.astype(np.float64)),
        anomalous=from_numpy(decision.anomalous.astype(bool)),
        rule=_PROTO_RULES[decision.rule],
        alpha=decision.alpha,
        p_value_threshold=decision.threshold,
    )


def regions_proto(flags: np.ndarray, scores: np.ndarray, p_values: np.ndarray) -> list[common_pb2.Region]:
    """Contiguous runs of ``flags`` ``(n,)`` as ``[start, end)`` regions with their peak score."""
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    regions = []
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        regions.append(
            common_pb2.Region(
                start=int(start),
                end=int(end),
                peak_score=float(scores[start:end].max()),
                min_p_value=float(p_values[start:end].min()),
            )
        )
    return regions
