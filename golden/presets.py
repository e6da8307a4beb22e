"""Measured device presets, each citing the measurement it comes from.

The numbers are the ReADC paper's source data (Nature Communications 2025,
doi:10.1038/s41467-025-65233-w, authors' repository MIKEHHQ/ReADC, MIT licence);
copies of the CSV files live in ``tests/data/`` where tests check these values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["READC_FIG3C_PROGRAM", "READC_FIG3D_READ", "SigmaVsConductance", "program_sigma_us"]


@dataclass(frozen=True)
class SigmaVsConductance:
    """A standard deviation that depends on the target conductance.

    Linear interpolation between measured points, held constant outside them.

    Parameters
    ----------
    targets_us : tuple of float
        Target conductances in uS, increasing.
    sigma_us : tuple of float
        Measured standard deviation at each target, in uS.
    source : str
        Where the numbers come from.
    """

    targets_us: tuple[float, ...]
    sigma_us: tuple[float, ...]
    source: str

    def __call__(self, g_us) -> np.ndarray:
        """Sigma in uS at conductance(s) ``g_us``."""
        return np.interp(np.asarray(g_us, dtype=np.float64), self.targets_us, self.sigma_us)

    @property
    def mean_sigma_us(self) -> float:
        """Mean of the measured sigmas."""
        return float(np.mean(self.sigma_us))


READC_FIG3C_PROGRAM = SigmaVsConductance(
    targets_us=(100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0),
    sigma_us=(2.417382900226922, 2.644265358368231, 2.979240363390833, 2.791440384530338,
              2.813373328561849, 2.626968920698813, 2.844494083143366),
    source="ReADC fig. 3c (fig3c_variation.csv): programming sigma of 64 devices per target",
)
"""Programming (write) error: sigma of 64 devices programmed to each target."""

READC_FIG3D_READ = SigmaVsConductance(
    targets_us=(100.0, 150.0, 200.0, 250.0, 300.0, 350.0, 400.0),
    sigma_us=(0.18192696803029684, 0.3457880642378642, 0.1978551861986584,
              0.021787794357919193, 0.03858967487239107, 0.07827837877462404,
              0.11313465611568514),
    source="ReADC fig. 3d (fig3d.csv): sample sigma of 1000 repeated reads per target",
)
"""Read-to-read noise: sample standard deviation (ddof=1) of 1000 reads per target."""


def program_sigma_us(program_sigma, g_us) -> np.ndarray:
    """Programming sigma (uS) at target conductance(s) ``g_us``, shape of ``g_us``.

    The one reading of ``device.program_sigma``: the macro's Q-cell bound sigma, the
    crossbar's weight programming and ``cimgen program``'s expected spreads all use it.

    Parameters
    ----------
    program_sigma : str, float or callable
        ``"readc-fig3c"`` (:data:`READC_FIG3C_PROGRAM`), ``"none"`` (0), a sigma in uS
        (the same at every target) or a callable ``sigma(G)`` in uS.
    g_us : array_like
        Target conductances in uS.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    ValueError
        For any other ``program_sigma``, or one that does not give a finite sigma >= 0
        per target.
    """
    g = np.asarray(g_us, dtype=np.float64)
    if isinstance(program_sigma, str):
        if program_sigma == "readc-fig3c":
            program_sigma = READC_FIG3C_PROGRAM
        elif program_sigma == "none":
            program_sigma = 0.0
        else:
            raise ValueError(_BAD_SIGMA.format(program_sigma))
    if callable(program_sigma):
        sg = np.asarray(program_sigma(g), dtype=np.float64)
    elif isinstance(program_sigma, int | float | np.floating) \
            and not isinstance(program_sigma, bool):
        sg = np.full(g.shape, float(program_sigma))
    else:
        raise ValueError(_BAD_SIGMA.format(program_sigma))
    if sg.shape != g.shape or not np.all(np.isfinite(sg)) or np.any(sg < 0):
        raise ValueError(
            f"program_sigma = {program_sigma!r}: must give a finite sigma >= 0 (uS) per bound"
        )
    return sg


_BAD_SIGMA = ("program_sigma = {!r}: must be 'readc-fig3c', 'none', a sigma in uS (>= 0) or "
              "a callable sigma(G)")
