"""The event container every tensor-stream detector takes, and its schema.

:class:`EventBatch` is plain numpy, so it travels through every backend. Each event has a time
(float64 seconds, any epoch), ``n_cat`` categorical attributes (str or int values, kept raw: the
detector maps them to codes with its learned vocabulary) and ``n_cont`` continuous attributes
(float32). Events are expected in time order; a step back of at most the detector's tolerance is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EventBatch", "EventSchema", "concat", "head", "make_batch"]


class EventSchema(BaseModel):
    """Attribute names and types of an event stream (stored with every model as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    time: str = Field("time", description="Name of the time field (seconds, or ISO 8601 in files/uploads).")
    categorical: tuple[str, ...] = Field(..., description="Categorical attributes (str or int values).")
    continuous: tuple[str, ...] = Field(..., description="Continuous attributes (finite numbers).")

    @property
    def attributes(self) -> tuple[str, ...]:
        """Every attribute, categorical first."""
        return (*self.categorical, *self.continuous)


@dataclass(frozen=True)
class EventBatch:
    """A batch of events.

    times: float64 ``(n,)`` seconds. categorical: ``(n, n_cat)`` object / str / int array of raw values.
    continuous: float32 ``(n, n_cont)``. categorical_names / continuous_names: column names, in order.
    """

    times: np.ndarray
    categorical: np.ndarray
    continuous: np.ndarray
    categorical_names: tuple[str, ...]
    continuous_names: tuple[str, ...]

    def __len__(self) -> int:
        """Number of events."""
        return int(np.shape(self.times)[0]) if np.ndim(self.times) else 0

    @property
    def schema(self) -> EventSchema:
        """The batch's schema (time field named ``time``)."""
        return EventSchema(categorical=self.categorical_names, continuous=self.continuous_names)

    def take(self, index: np.ndarray | slice) -> EventBatch:
        """The events at ``index`` (a slice or an index array)."""
        return EventBatch(self.times[index], self.categorical[index], self.continuous[index],
                          self.categorical_names, self.continuous_names)


def make_batch(times: Sequence[float] | np.ndarray, categorical: dict[str, Sequence] | None,
               continuous: dict[str, Sequence] | None) -> EventBatch:
    """A batch from named columns: ``categorical={"src": [...]}, continuous={"bytes": [...]}``."""
    categorical = categorical or {}
    continuous = continuous or {}
    t = np.asarray(times, dtype=np.float64)
    n = t.shape[0]
    cat = np.empty((n, len(categorical)), dtype=object)
    for j, values in enumerate(categorical.values()):
        cat[:, j] = list(values)
    cont = np.zeros((n, len(continuous)), dtype=np.float32)
    for j, values in enumerate(continuous.values()):
        cont[:, j] = np.asarray(values, dtype=np.float32)
    return EventBatch(t, cat, cont, tuple(categorical), tuple(continuous))


def head(batch: EventBatch, k: int) -> EventBatch:
    """The first ``k`` events (the contract test's ``head``)."""
    return batch.take(slice(0, k))


def concat(batches: Sequence[EventBatch]) -> EventBatch:
    """Events of several batches with the same schema, in the given order."""
    first = batches[0]
    for other in batches[1:]:
        if (other.categorical_names, other.continuous_names) != (first.categorical_names, first.continuous_names):
            raise ValueError("concat needs batches with the same attribute names")
    return EventBatch(np.concatenate([b.times for b in batches]),
                      np.concatenate([b.categorical.astype(object) for b in batches]),
                      np.concatenate([b.continuous for b in batches]).astype(np.float32),
                      first.categorical_names, first.continuous_names)
