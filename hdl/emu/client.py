"""The emulator's host side: :class:`BoardClient` over any transport, and the golden twin.

:class:`BoardClient` speaks the protocol of :mod:`hdl.emulator` over any *transport*:
an object with ``write(bytes)`` and ``read(n) -> bytes`` (which may return fewer
bytes when its timeout expires), such as a ``serial.Serial`` from pyserial, the
simulated board of :mod:`synth.simlink` or the cocotb transport of
:mod:`sim.bench_emulator`.

:func:`twin_reference` is what the emulator must compute, built from golden parts:
the ideal crossbar's integer partial sums (:meth:`golden.crossbar.Crossbar.partial_sums`),
the realised Q-cell bank's match vectors (through the integer bounds the board holds,
equal to :meth:`golden.qcell.QCellBank.match` on every integer input), plus the
emulator's own integer read noise, and :func:`golden.digital.digital_path`. With a
config whose crossbar is ideal (``program_sigma = "none"``, no read noise, no stuck
cells, no wire resistance) this equals :meth:`golden.macro.Macro.run` exactly.

Pure Python (numpy and golden, no Amaranth); :mod:`synth.host` re-exports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from golden.crossbar import input_bit_planes, map_weights
from golden.digital import digital_path
from golden.macro import Macro, MacroCalibration
from golden.spec import DECODERS, MacroSpec

from .layout import EmulatorLayout
from .protocol import (
    MAGIC,
    PROTOCOL_VERSION,
    SYNC_RESPONSE,
    Command,
    Status,
    crc8,
    noise_sequence,
    request_frame,
)

__all__ = [
    "BoardClient",
    "BoardError",
    "MacroProgram",
    "ProtocolError",
    "frame",
    "program_macro",
    "twin_match",
    "twin_reference",
]


class ProtocolError(RuntimeError):
    """The board did not answer, or answered with a malformed frame."""


class BoardError(RuntimeError):
    """The board answered with a status other than OK (``status``)."""

    def __init__(self, cmd: Command, status: int):
        self.cmd, self.status = cmd, status
        try:
            name = Status(status).name
        except ValueError:
            name = f"unknown status {status}"
        super().__init__(f"{cmd.name}: the board answered {name}")


frame = request_frame
"""A request frame (:func:`hdl.emu.protocol.request_frame`)."""


class BoardClient:
    """Talk to an emulator over ``transport``.

    Parameters
    ----------
    transport
        ``write(bytes)``, ``read(n) -> bytes`` (short on timeout).
    layout : hdl.emulator.EmulatorLayout
        What the host expects the board to be built for.
    retries : int
        How often a request whose response is missing or corrupt is sent again.
    """

    def __init__(self, transport, layout: EmulatorLayout, *, retries: int = 2):
        self.transport = transport
        self.layout = layout
        self.retries = retries

    @classmethod
    def connect(cls, transport, spec: MacroSpec, **kw) -> tuple[BoardClient, dict]:
        """A client whose layout is read from the board (batch size, noise width and
        decoder are build options), checked against ``spec``; and the STATUS fields.

        Raises
        ------
        ProtocolError
            No answer, not an emulator, or built for a different config.
        """
        probe = cls(transport, EmulatorLayout(spec, 1, 0), **kw)
        info = probe.status()
        if info["magic"] != MAGIC:
            raise ProtocolError(f"not a cimgen emulator (magic {info['magic']:#010x})")
        if info["version"] != PROTOCOL_VERSION:
            raise ProtocolError(f"the board speaks protocol version {info['version']}; this "
                                f"host speaks {PROTOCOL_VERSION}")
        decoders = DECODERS[spec.adc.encoding]
        try:
            built = spec.replace(adc={"decoder": decoders[info["decoder"]]})
            layout = EmulatorLayout(built, info["batch_max"], info["noise_bits_max"])
        except (ValueError, IndexError):
            layout = probe.layout
        client = cls(transport, layout, **kw)
        return client, client.check(info)

    # -- framing ---------------------------------------------------------------------

    def _read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.transport.read(n - len(data))
            if not chunk:
                raise ProtocolError(
                    f"timeout: got {len(data)} of {n} bytes of a response"
                )
            data += chunk
        return data

    def _response(self, cmd: Command) -> tuple[int, bytes]:
        for _ in range(1 << 16):  # skip noise before the sync byte
            b = self._read_exact(1)
            if b[0] == SYNC_RESPONSE:
                break
        else:
            raise ProtocolError("no response sync byte")
        head = self._read_exact(4)
        status, echoed, n = head[0], head[1], head[2] | (head[3] << 8)
        payload = self._read_exact(n)
        tail = self._read_exact(1)
        if crc8(head + payload + tail) != 0:
            raise ProtocolError(f"{cmd.name}: response CRC mismatch")
        if echoed != cmd:
            raise ProtocolError(f"{cmd.name}: response is for command {echoed:#04x}")
        return status, payload

    def request(self, cmd: Command, payload: bytes = b"") -> bytes:
        """Send one request and return its response payload.

        Raises
        ------
        BoardError
            The board answered with an error status.
        ProtocolError
            No valid response after ``retries`` repetitions.
        """
        last = None
        for _ in range(self.retries + 1):
            self.transport.write(frame(cmd, payload))
            try:
                status, data = self._response(cmd)
            except ProtocolError as e:
                last = e
                self._drain()
                continue
            if status != Status.OK:
                raise BoardError(cmd, status)
            return data
        raise last

    def _drain(self) -> None:
        reset = getattr(self.transport, "reset_input_buffer", None)
        if reset is not None:
            time.sleep(0.05)
            reset()

    # -- commands --------------------------------------------------------------------

    def status(self) -> dict:
        """STATUS, decoded into a dict of :attr:`EmulatorLayout.info_fields`."""
        try:
            return self.layout.decode_info(self.request(Command.STATUS))
        except ValueError as e:
            raise ProtocolError(str(e)) from None

    def check(self, info: dict | None = None) -> dict:
        """STATUS (or the fields ``info`` already read), then check that the board runs
        a bitstream for this layout.

        Raises
        ------
        ProtocolError
            Wrong magic, protocol version or config id (the message names the
            first differing field).
        """
        if info is None:
            info = self.status()
        if info["magic"] != MAGIC:
            raise ProtocolError(f"not a cimgen emulator (magic {info['magic']:#010x})")
        want = self.layout.static_info()
        if info["config_id"] != want["config_id"]:
            diff = [k for k, v in want.items() if k != "config_id" and info.get(k) != v]
            what = ", ".join(f"{k}: board {info[k]}, config {want[k]}" for k in diff[:4])
            raise ProtocolError(
                "the board runs an emulator built for a different config"
                + (f" ({what})" if what else " (same widths; decoder, mapping, SR or LUT "
                   "format differ)")
                + "; rebuild it with cimgen synth CONFIG --emulator"
            )
        return info

    def load_weights(self, levels) -> None:
        """WEIGHTS from cell levels ``(rows, phys_cols)``."""
        self.request(Command.WEIGHTS, self.layout.pack_weights(levels))

    def load_bounds(self, lo, hi) -> None:
        """BOUNDS from integer bounds ``(phys_cols, adcs, cells)``."""
        self.request(Command.BOUNDS, self.layout.pack_bounds(lo, hi))

    def load_lut(self, luts) -> None:
        """LUT from fixed-point LUTs ``(n_luts, lut_entries)``."""
        self.request(Command.LUT, self.layout.pack_lut(luts))

    def set_noise(self, noise_bits: int, seed: int = 1) -> None:
        """NOISE."""
        self.request(Command.NOISE, self.layout.pack_noise(noise_bits, seed))

    def run_batch(self, x) -> tuple[np.ndarray, np.ndarray]:
        """RUN then READ for at most ``batch_max`` vectors: outputs and flags."""
        x = np.asarray(x)
        n = int.from_bytes(self.request(Command.RUN, self.layout.pack_inputs(x)), "little")
        if n != x.shape[0]:
            raise ProtocolError(f"RUN: the board ran {n} vectors of {x.shape[0]}")
        out, flags = self.layout.unpack_results(self.request(Command.READ))
        if out.shape[0] != n:
            raise ProtocolError(f"READ: {out.shape[0]} results for {n} vectors")
        return out, flags

    def run(self, x, progress=None) -> tuple[np.ndarray, np.ndarray]:
        """Every vector of ``x`` (vectors, rows), in batches of ``batch_max``."""
        x = np.asarray(x)
        outs, flags = [], []
        bm = self.layout.batch_max
        for lo in range(0, x.shape[0], bm):
            o, f = self.run_batch(x[lo:lo + bm])
            outs.append(o)
            flags.append(f)
            if progress is not None:
                progress(min(x.shape[0], lo + bm), x.shape[0])
        m = self.layout.spec.macro
        if not outs:
            return np.zeros((0, m.cols), np.int64), np.zeros(0, np.uint8)
        return np.concatenate(outs), np.concatenate(flags)


@dataclass(frozen=True)
class MacroProgram:
    """What the host loads into the emulator for one macro instance.

    Attributes
    ----------
    levels : ndarray (rows, phys_cols)
        Cell levels (:func:`golden.crossbar.map_weights`).
    lo, hi : ndarray (phys_cols, adcs, cells)
        Integer Q-cell bounds of the realised (perturbed) bank.
    luts : ndarray (n_luts, lut_entries)
        Fixed-point LUT contents.
    macro : golden.macro.Macro
        The golden macro they come from.
    """

    levels: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    luts: np.ndarray
    macro: Macro


def program_macro(layout: EmulatorLayout, weights, calibration: MacroCalibration,
                  *, array_id: int = 0) -> MacroProgram:
    """Realise the golden macro for ``weights`` with ``calibration`` (its Q-cells with
    the config's bound variation) and derive what the emulator must hold."""
    spec = layout.spec
    macro = Macro(spec, weights, array_id=array_id, calibration=calibration)
    # The realised Q-cells are static draws, fixed by the spec, weights and id.
    lo, hi = layout.integer_bounds(macro.banks)
    return MacroProgram(map_weights(weights, spec.macro), lo, hi,
                        calibration.lut_fixed(spec), macro)


def twin_match(layout: EmulatorLayout, levels, lo, hi, x, *, noise_bits: int = 0,
               seed: int = 1) -> np.ndarray:
    """The match vectors the twin sends the periphery for inputs ``x`` (vectors, rows)
    in one RUN: bool ``(vectors, input_bits, phys_cols, adcs, cells)``.

    ``levels`` (rows, phys_cols) are the cell levels, ``lo``/``hi`` the integer bounds
    ``(phys_cols, adcs, cells)``; with ``noise_bits`` the read noise of a RUN starting
    from ``seed`` is added (:func:`hdl.emu.protocol.noise_sequence`).
    """
    bits = input_bit_planes(x, layout.spec.macro).astype(np.int64)
    ps = bits @ np.asarray(levels).astype(np.int64)   # (vectors, input_bits, phys_cols)
    if noise_bits:
        ps = ps + noise_sequence(seed, noise_bits, ps.shape)
    vv = ps[..., None, None]
    return (vv >= lo) & (vv <= hi)


def twin_reference(layout: EmulatorLayout, prog: MacroProgram, x, *, noise_bits: int = 0,
                   seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """What the emulator outputs for inputs ``x`` (vectors, rows) in one RUN.

    Returns ``(out, flags)`` as :func:`golden.digital.digital_path` of
    :func:`twin_match`; call it per RUN batch (the noise restarts at every RUN).
    """
    match = twin_match(layout, prog.levels, prog.lo, prog.hi, x, noise_bits=noise_bits,
                       seed=seed)
    return digital_path(match, prog.luts, layout.spec)
