#!/usr/bin/env python3
"""Convert the UCI test vectors of google/pica's src/uci_packets.pdl to wire packets.

The PDL test vectors are written in the unfragmented format of Android's UWB
stack (UciControlPacket): octets 0-2 of the header, then a 32-bit
little-endian payload length, then the payload. On the wire (UciControlPacketHal,
and what pica itself reads from its sockets) the length is the single octet 3.
This script keeps the vectors whose length field matches their payload and
prints them in the wire format, one per line: name, then hex.

    git show e6fd4451a2bccba0f8a64f229e65549b389b2988:src/uci_packets.pdl > uci_packets.pdl
    python3 pica_to_wire.py uci_packets.pdl
"""

import re
import sys

pdl = open(sys.argv[1], encoding="utf-8").read()
for name, body in re.findall(r'test (\w+) \{\n((?:\s*"[^"]*",?.*\n)+)\}', pdl):
    for literal in re.findall(r'"([^"]*)"', body):
        b = bytes(literal, "latin1").decode("unicode_escape").encode("latin1")
        if len(b) < 7 or b[0] >> 5 == 0:
            continue  # too short, or a data packet
        n = int.from_bytes(b[3:7], "little")
        if len(b) != 7 + n or n > 255:
            print(f"# {name}: inconsistent length, skipped", file=sys.stderr)
            continue
        print(name, (b[:3] + bytes([n]) + b[7:]).hex(" "))
