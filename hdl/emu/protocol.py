"""The emulator's wire protocol, defined once: codes, CRC-8, noise PRNG and frames.

Pure Python (no Amaranth): the gateware (:mod:`hdl.emu.frames`, :mod:`hdl.emu.core`),
the host (:mod:`hdl.emu.client`, :mod:`synth.host`) and the benches all import it.
The protocol itself is described in :mod:`hdl.emulator`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HEADER_LEN",
    "MAGIC",
    "MAX_PAYLOAD",
    "PROTOCOL_VERSION",
    "SYNC_REQUEST",
    "SYNC_RESPONSE",
    "Command",
    "Frame",
    "Status",
    "crc8",
    "crc8_columns",
    "noise_sequence",
    "parse_requests",
    "parse_responses",
    "request_frame",
    "response_frame",
    "xorshift32",
]

PROTOCOL_VERSION = 1
SYNC_REQUEST = 0xA5
SYNC_RESPONSE = 0x5A
MAX_PAYLOAD = 0xFFFF
MAGIC = 0x454D4943  # "CIME" little-endian
HEADER_LEN = 5
"""Bytes of a response before its payload: sync, status, command, length (2)."""


class Command(enum.IntEnum):
    """Request codes."""

    STATUS = 0x01
    WEIGHTS = 0x02
    BOUNDS = 0x03
    LUT = 0x04
    NOISE = 0x05
    RUN = 0x06
    READ = 0x07


class Status(enum.IntEnum):
    """Response status codes."""

    OK = 0
    BAD_CRC = 1
    BAD_COMMAND = 2
    BAD_LENGTH = 3
    BAD_ARGUMENT = 4


def crc8(data: bytes, crc: int = 0) -> int:
    """CRC-8 with polynomial 0x07, initial value ``crc``, no reflection or final XOR.

    Appending ``crc8(msg)`` to ``msg`` gives a message whose CRC is 0.
    """
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc8_columns() -> list[int]:
    """The CRC of each unit byte ``1 << b``: the update is linear in ``crc ^ byte``, so
    output bit ``i`` is the XOR of the input bits ``b`` whose column has bit ``i`` set
    (how the gateware computes it, :func:`hdl.emu.frames.crc8_update`)."""
    return [crc8(bytes([1 << b])) for b in range(8)]


def xorshift32(state: int) -> int:
    """One step of Marsaglia's xorshift32 (13, 17, 5)."""
    s = state & 0xFFFFFFFF
    s ^= (s << 13) & 0xFFFFFFFF
    s ^= s >> 17
    s ^= (s << 5) & 0xFFFFFFFF
    return s


def noise_sequence(seed: int, noise_bits: int, shape) -> np.ndarray:
    """The emulator's read noise for one RUN: int64 array of ``shape``.

    ``shape = (vectors, input_bits, phys_cols)``; element ``[v, t, p]`` is the noise
    added to physical column ``p`` in beat ``t`` of vector ``v``. The generator
    starts from ``seed`` (0 means 1) and steps once per element in C order.
    """
    n = int(np.prod(shape))
    out = np.zeros(n, dtype=np.int64)
    if noise_bits > 0:
        m = (1 << noise_bits) - 1
        s = seed & 0xFFFFFFFF or 1
        for i in range(n):
            out[i] = (s & m) - ((s >> 16) & m)
            s = xorshift32(s)
    return out.reshape(shape)


def request_frame(cmd: int, payload: bytes = b"") -> bytes:
    """A request frame: sync, command, length, payload, CRC-8.

    Raises
    ------
    ValueError
        A payload longer than :data:`MAX_PAYLOAD` bytes.
    """
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes: at most {MAX_PAYLOAD} allowed")
    body = bytes([cmd, len(payload) & 0xFF, len(payload) >> 8]) + payload
    return bytes([SYNC_REQUEST]) + body + bytes([crc8(body)])


def response_frame(status: int, cmd: int, payload: bytes = b"") -> bytes:
    """A response frame: sync, status, command, length, payload, CRC-8."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes: at most {MAX_PAYLOAD} allowed")
    body = bytes([status, cmd, len(payload) & 0xFF, len(payload) >> 8]) + payload
    return bytes([SYNC_RESPONSE]) + body + bytes([crc8(body)])


@dataclass(frozen=True)
class Frame:
    """One parsed frame: ``status`` is ``None`` for a request; ``crc_ok`` tells whether
    the CRC byte matched."""

    cmd: int
    payload: bytes
    crc_ok: bool
    status: int | None = None


def _parse(data: bytes, sync: int, head: int) -> list[Frame]:
    frames, i = [], 0
    while i < len(data):
        if data[i] != sync:
            i += 1
            continue
        if i + 1 + head > len(data):
            break
        n = data[i + head - 1] | (data[i + head] << 8)
        end = i + 1 + head + n
        if end >= len(data):
            break
        body = data[i + 1:end + 1]
        status = None if head == 3 else body[0]
        frames.append(Frame(body[head - 3], bytes(body[head:head + n]), crc8(body) == 0,
                            status))
        i = end + 1
    return frames


def parse_requests(data: bytes) -> list[Frame]:
    """The whole request frames in ``data`` (bytes outside a frame skipped, a cut-off
    frame at the end ignored)."""
    return _parse(bytes(data), SYNC_REQUEST, 3)


def parse_responses(data: bytes) -> list[Frame]:
    """The whole response frames in ``data``, as :func:`parse_requests`."""
    return _parse(bytes(data), SYNC_RESPONSE, 4)
