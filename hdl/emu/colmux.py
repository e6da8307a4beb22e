"""The column multiplexer between the emulator's Q-cell twin and the periphery.

The twin computes every physical column's match vectors for one input bit (one
beat of ``phys_cols`` slots); a periphery with ``adc.columns_per_adc = k > 1`` reads
``n_groups`` slots per beat, ``k`` beats per input bit (:func:`golden.digital.
to_beats`). :class:`ColumnMux` turns each twin beat into those ``k`` beats, as the
analog column multiplexer in front of a shared ADC does on a chip. For ``k = 1`` it
is a wire.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden.digital import mux_groups
from golden.spec import MacroSpec

__all__ = ["ColumnMux", "mux_beat_layout"]


def mux_beat_layout(spec: MacroSpec, slots: int) -> data.StructLayout:
    """A beat of ``slots`` match-vector slots (``in_match`` layout) and ``last``."""
    a = spec.adc
    match = data.ArrayLayout(data.ArrayLayout(a.cells, a.adcs_per_column), slots)
    return data.StructLayout({"match": match, "last": 1})


class ColumnMux(wiring.Component):
    """One beat of every physical column in, ``columns_per_adc`` beats of the ADC
    groups out.

    For the input beat (input bit ``t``) it offers the beats of phases ``j = 0 ..
    k-1`` in turn; slot ``g`` of phase ``j`` is the input's column
    ``mux_groups(spec)[g, j]``, all zeros for an empty slot. ``last`` is the input's
    ``last`` on phase ``k - 1`` only. The input beat is accepted (``i.ready``) with
    the output's last phase, so nothing is buffered and the stream rules hold on both
    sides (no beat dropped or duplicated under back-pressure). The phase counter
    restarts at reset.

    Parameters
    ----------
    spec : golden.spec.MacroSpec

    Members
    -------
    i : In(stream.Signature(mux_beat_layout(spec, phys_cols)))
    o : Out(stream.Signature(mux_beat_layout(spec, n_groups)))
    """

    def __init__(self, spec: MacroSpec):
        if not isinstance(spec, MacroSpec):
            raise ValueError(f"spec = {spec!r}: must be a MacroSpec")
        self._spec = spec
        self._groups = mux_groups(spec)
        super().__init__({
            "i": In(stream.Signature(mux_beat_layout(spec, spec.macro.phys_cols))),
            "o": Out(stream.Signature(mux_beat_layout(spec, self._groups.shape[0]))),
        })

    @property
    def phases(self) -> int:
        """Output beats per input beat: ``adc.columns_per_adc``."""
        return self._groups.shape[1]

    def elaborate(self, platform):
        m = Module()
        k = self.phases
        groups = self._groups
        last_phase = Signal()
        phase = Signal(range(k)) if k > 1 else None
        if phase is None:
            m.d.comb += last_phase.eq(1)
        else:
            m.d.comb += last_phase.eq(phase == k - 1)
            with m.If(self.o.valid & self.o.ready):
                m.d.sync += phase.eq(0)
                with m.If(~last_phase):
                    m.d.sync += phase.eq(phase + 1)
        width = self._spec.adc.adcs_per_column * self._spec.adc.cells
        for g in range(groups.shape[0]):
            slot = self.o.payload.match[g].as_value()
            if k == 1:
                m.d.comb += slot.eq(self.i.payload.match[int(groups[g, 0])].as_value())
                continue
            with m.Switch(phase):
                for j in range(k):
                    p = int(groups[g, j])
                    with m.Case(j):
                        src = Const(0, width) if p < 0 else self.i.payload.match[p].as_value()
                        m.d.comb += slot.eq(src)
        m.d.comb += [
            self.o.valid.eq(self.i.valid),
            self.o.payload.last.eq(self.i.payload.last & last_phase),
            self.i.ready.eq(self.o.ready & last_phase),
        ]
        return m
