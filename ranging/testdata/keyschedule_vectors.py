#!/usr/bin/env python3
"""Independent computation of the UWB key schedule vectors of package ranging.

This script is the second implementation the Go tests are checked against:
it computes the key schedule of docs/protocol.md §8.5 (and the project's Salt and
SaltedHash construction, ranging.SaltProjectKDF) from the written formulas
with the AES-CMAC of the Python `cryptography` package (Debian
python3-cryptography), and writes keyschedule.json. It shares no code with the
Go implementation. Run it from this directory:

    python3 keyschedule_vectors.py > keyschedule.json
"""

import hashlib
import json
import struct

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC


def cmac(key: bytes, msg: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(msg)
    return c.finalize()


def kdf(key: bytes, label: bytes, context: bytes, nbytes: int) -> bytes:
    """NIST SP 800-108r1 counter mode, r = 32, counter first:
    PRF(K, [i]32 || label || 00 || context || [L]32), blocks concatenated."""
    out = b""
    i = 1
    while len(out) < nbytes:
        msg = struct.pack(">I", i) + label + b"\x00" + context + struct.pack(">I", 8 * nbytes)
        out += cmac(key, msg)
        i += 1
    return out[:nbytes]


def spread_bits(s: int) -> bytes:
    # The 32 bits of the STS index, one per byte, most significant first.
    return bytes((s >> (31 - i)) & 1 for i in range(32))


def vector(name, ursk, version, config_id, session_id, sts_index0, responders,
           ran_multiplier, slots_per_round, chaps_per_slot, pulse_combo, rounds):
    zero3 = b"\x00\x00\x00"
    upsk = kdf(ursk, b"UPSK", zero3, 48)
    mupsk1, mupsk2 = upsk[:16], upsk[16:]
    mursk = kdf(ursk, b"URSK", zero3, 32)
    uad = kdf(mupsk2, b"UAD", struct.pack(">I", sts_index0), 16)
    salt = kdf(ursk, b"Salt", zero3, 16)
    ctx = (struct.pack(">HH", version, config_id) + session_id
           + struct.pack(">IBIBHB", sts_index0, responders, ran_multiplier * 96,
                         slots_per_round, chaps_per_slot * 400, pulse_combo))
    assert len(ctx) == 21
    salted_hash = kdf(salt + bytes(16), b"SaltedHash", ctx, 16)
    out_rounds = []
    for s in rounds:
        kt = kdf(mursk, b"URSK_KT", spread_bits(s), 32)
        out_rounds.append({
            "sts_index": s,
            "ursk_kt": kt.hex(),
            "dursk": kdf(kt, b"URSK", salted_hash + zero3, 16).hex(),
            "dudsk": kdf(kt, b"UDSK", salted_hash + zero3, 16).hex(),
        })
    return {
        "name": name,
        "ursk": ursk.hex(),
        "version": version,
        "config_id": config_id,
        "session_id": session_id.hex(),
        "sts_index0": sts_index0,
        "responders": responders,
        "ran_multiplier": ran_multiplier,
        "slots_per_round": slots_per_round,
        "chaps_per_slot": chaps_per_slot,
        "pulse_shape_combo": pulse_combo,
        "mupsk1": mupsk1.hex(),
        "mupsk2": mupsk2.hex(),
        "mursk": mursk.hex(),
        "uad": uad.hex(),
        "uad_src_short": uad[0:2].hex(),
        "uad_src_pan": uad[2:4].hex(),
        "uad_dst_short": uad[4:6].hex(),
        "uad_src_long": uad[6:14].hex(),
        "salt": salt.hex(),
        "salted_hash_context": ctx.hex(),
        "salted_hash": salted_hash.hex(),
        "rounds": out_rounds,
    }


vectors = [
    vector("counting-ursk", bytes(range(32)), 0x0100, 0x0001, bytes.fromhex("a1b2c3d4"),
           0x12345678, 4, 2, 12, 6, 0x12,
           [0x12345678, 0x12345679, 0, 0xFFFFFFFF]),
    vector("hashed-ursk", hashlib.sha256(b"opencarkey ranging vector B").digest(), 0x0100, 0x0000,
           bytes.fromhex("0f1e2d3c"), 0x00000001, 1, 1, 6, 3, 0x01,
           [1, 2, 0x80000000, 0x7FFFFFFF]),
    vector("many-responders", hashlib.sha256(b"opencarkey ranging vector C").digest(), 0x0100, 0x0001,
           bytes.fromhex("00000000"), 0x3FFFFFFF, 8, 12, 16, 24, 0x21,
           [0x3FFFFFFF, 0x40000000]),
]

print(json.dumps({
    "source": "ranging/testdata/keyschedule_vectors.py (python3-cryptography AES-CMAC), "
              "from the formulas of docs/protocol.md §8.5 and ranging.SaltProjectKDF",
    "vectors": vectors,
}, indent=2))
