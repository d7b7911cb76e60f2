"""Medical evaluation data: BMAD-layout loaders for users' copies, and the built-in brain / liver-CT / OCT sets."""

from services.medical.data.common import MissingDataError, SliceSet

__all__ = ["MissingDataError", "SliceSet"]
