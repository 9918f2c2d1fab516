"""Protobuf wire encoding by hand, for the few fixed messages the gRPC benchmark sends.

Writing the bytes here keeps the benchmark independent of generated code: the requests are
the seed's ``config.v1`` messages, which any server implementing that proto understands.
"""

from __future__ import annotations

from collections.abc import Mapping

BASELINE_METHOD = "/bench.v1.Baseline/Get"


def varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def encode(fields: Mapping[int, str | int]) -> bytes:
    """Encode string (length-delimited) and non-negative int (varint) fields by number."""
    out = bytearray()
    for number, value in fields.items():
        if isinstance(value, int):
            out += varint(number << 3) + varint(value)
        else:
            data = value.encode()
            out += varint(number << 3 | 2) + varint(len(data)) + data
    return bytes(out)
