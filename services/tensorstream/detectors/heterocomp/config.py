"""Configuration of the HeteroComp detector (validated, immutable, JSON round-trippable)."""

from __future__ import annotations

from pydantic import Field

from services.core.contract import DetectorConfig

__all__ = ["HeteroCompConfig"]


class HeteroCompConfig(DetectorConfig):
    """Hyper-parameters of :class:`~services.tensorstream.detectors.heterocomp.HeteroCompDetector`.

    The event schema may be declared here (``categorical`` / ``continuous``); when it is not, it is
    taken from the training batch and stored with the model.
    """

    # schema
    categorical: tuple[str, ...] | None = Field(None, description="Categorical attributes; None: from the data.")
    continuous: tuple[str, ...] | None = Field(None, description="Continuous attributes; None: from the data.")
    # components
    n_components: int = Field(8, ge=1, le=256, description="Latent components K.")
    em_iters: int = Field(20, ge=1, description="EM iterations of the batch fit.")
    dirichlet_alpha: float = Field(0.1, gt=0, description="Dirichlet smoothing of each categorical distribution.")
    window_concentration: float = Field(1.0, gt=0, description="Dirichlet prior of per-window mixing weights in fit.")
    max_vocab: int = Field(5000, ge=1, description="Most values kept per categorical attribute.")
    min_count: int = Field(2, ge=1, description="Training occurrences a value needs to enter the vocabulary.")
    hash_buckets: int = Field(32, ge=1, description="Buckets shared by rare and unseen categorical values (hashed).")
    # continuous densities
    n_bins: int = Field(32, ge=4, le=256, description="Grid bins of each continuous attribute's GP density.")
    density_lengthscale: float = Field(1.5, gt=0, description="SE lengthscale of the density GP, in bins.")
    density_variance: float = Field(9.0, gt=0, description="SE variance of the density GP (log-density scale).")
    # temporal GP
    window_seconds: float = Field(3600.0, gt=0, description="Width of a window (seconds).")
    time_tolerance: float = Field(60.0, ge=0, description="Largest step back in time accepted (seconds).")
    use_temporal_gp: bool = Field(True, description="GP dynamics of intensities; False: static (the ablation).")
    matern_lengthscale: float = Field(4.0, gt=0, description="Matérn-3/2 lengthscale (windows).")
    matern_variance: float = Field(0.5, gt=0, description="Matérn-3/2 variance (log-intensity).")
    period_seconds: float | None = Field(86400.0, gt=0, description="Period of the quasi-periodic part; None: off.")
    harmonics: int = Field(3, ge=1, le=12, description="Harmonics of the periodic part.")
    periodic_variance: float = Field(2.0, gt=0, description="Total variance of the periodic part.")
    periodic_decay_periods: float = Field(30.0, gt=0, description="Decay length of the periodicity (periods).")
    trend_drift: float = Field(1e-3, ge=0, description="Random-walk variance of the trend per window.")
    robust_z: float = Field(4.0, gt=0, description="Windows beyond this z get a down-weighted filter update.")
    max_gap_windows: int = Field(512, ge=1, description="Empty windows filtered one by one; a longer gap is predicted "
                                                       "in one step.")
    # scoring
    use_group_score: bool = Field(True, description="Add the group terms to event scores (False: the ablation).")
    # online adaptation (streams with adapt on)
    forgetting: float = Field(0.995, gt=0, le=1, description="Decay of the sufficient statistics per window.")
    adapt_max_group: float = Field(6.0, gt=0, description="Windows whose group score exceeds this are not learned.")
    refit_every: int = Field(24, ge=1, description="Windows between refits of the GP densities while adapting.")
    max_events: int = Field(10_000_000, ge=1, description="Most events per request.")
