#!/usr/bin/python3
"""Second implementation of the mdoc session layer, for cross-checking.

Computes, independently of the Go package and with Debian's
python3-cryptography and python3-cbor2 only, the fixed-key vector in
../session_vectors.json: the Home Key session transcript, its hash, the
session keys (HKDF-SHA256, info "SKReader"/"SKDevice"), the AES-GCM IVs
(8-byte direction identifier || 4-byte counter from 1) and the encrypted
messages of both directions; and the same for Aliro's step-up keys.

    /usr/bin/python3 session_vectors.py           # print the vector
    /usr/bin/python3 session_vectors.py --check   # compare with the file

The inputs are fixed: a counting secret and step-up material, the handover
messages of the recorded iPhone exchange (../homekey_handover.transcript),
and requests built here with cbor2's canonical encoding.
"""
import hashlib
import json
import os
import sys

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = os.path.dirname(os.path.abspath(__file__))


def recorded_handover():
    """The handover request and select NDEF messages of the recording."""
    lines = [l.strip() for l in open(os.path.join(HERE, "..", "homekey_handover.transcript"))]
    lines = [l for l in lines if l and not l.startswith("#")]
    cmd = bytes.fromhex(lines[2][1:].strip())
    resp = bytes.fromhex(lines[3][1:].replace(" ", ""))[:-2]
    # ENVELOPE: 00 C3 00 01 Lc 53 len <NDEF> 00; response: 53 len <NDEF>.
    assert cmd[:4] == bytes.fromhex("00c30001") and cmd[5] == 0x53
    hr = cmd[7 : 7 + cmd[6]]
    assert resp[0] == 0x53
    hs = resp[2 : 2 + resp[1]]
    return hr, hs


def hkdf(ikm, salt, info, size):
    return HKDF(algorithm=hashes.SHA256(), length=size, salt=salt, info=info).derive(ikm)


def iv(direction, counter):
    return direction.to_bytes(8, "big") + counter.to_bytes(4, "big")


def seal(key, direction, counter, plaintext):
    return AESGCM(key).encrypt(iv(direction, counter), plaintext, None)


def dumps(v):
    return cbor2.dumps(v, canonical=True)


def homekey():
    secret = bytes(range(0x50, 0x70))
    hr, hs = recorded_handover()
    # The device engagement is the payload of the select's last record:
    # 5C 1E 09 04 <type> <id "mdoc"> <payload>.
    de = hs[-9:]
    assert cbor2.loads(de) == {0: "1.0", 1: [-10]}
    transcript = dumps(cbor2.CBORTag(24, dumps([cbor2.CBORTag(24, de), [hs, hr]])))
    salt = hashlib.sha256(transcript).digest()
    skr = hkdf(secret, salt, b"SKReader", 16)
    skd = hkdf(secret, salt, b"SKDevice", 16)
    items = dumps({"docType": "com.apple.HomeKit.1.credential",
                   "nameSpaces": {"com.apple.HomeKit": {"credential_id": False}}})
    request = dumps({"version": "1.0", "docRequests": [{"itemsRequest": cbor2.CBORTag(24, items)}]})
    response = dumps({"version": "1.0", "status": 0})
    m1 = seal(skr, 0, 1, request)
    envelope = bytes.fromhex("00c30000")
    data = dumps({"data": m1})
    tlv = bytes([0x53]) + (bytes([0x81, len(data)]) if len(data) > 127 else bytes([len(data)])) + data
    envelope += bytes([len(tlv)]) + tlv + b"\x00"
    return {
        "secret": secret.hex(),
        "handover_request": hr.hex(),
        "handover_select": hs.hex(),
        "device_engagement": de.hex(),
        "session_transcript_bytes": transcript.hex(),
        "salt": salt.hex(),
        "sk_reader": skr.hex(),
        "sk_device": skd.hex(),
        "reader_iv_1": iv(0, 1).hex(),
        "device_iv_1": iv(1, 1).hex(),
        "reader_iv_2": iv(0, 2).hex(),
        "device_request": request.hex(),
        "reader_message_1": m1.hex(),
        "request_envelope": envelope.hex(),
        "device_response": response.hex(),
        "device_message_1": seal(skd, 1, 1, response).hex(),
        "reader_message_2": seal(skr, 0, 2, request).hex(),
    }


def aliro():
    material = bytes(range(0x30, 0x50))
    skr = hkdf(material, b"\x00" * 32, b"SKReader", 32)
    skd = hkdf(material, b"\x00" * 32, b"SKDevice", 32)
    items = dumps({"1": {"aliro-a": {"matter1": True}}, "5": "aliro-a"})
    request = dumps({"1": "1.0", "2": [{"1": cbor2.CBORTag(24, items)}]})
    response = dumps({"1": "1.0", "3": 0})
    return {
        "step_up_material": material.hex(),
        "sk_reader": skr.hex(),
        "sk_device": skd.hex(),
        "device_request": request.hex(),
        "reader_message_1": seal(skr, 0, 1, request).hex(),
        "device_response": response.hex(),
        "device_message_1": seal(skd, 1, 1, response).hex(),
        "reader_message_2": seal(skr, 0, 2, request).hex(),
    }


def main():
    vector = {
        "source": "testdata/tools/session_vectors.py (python3-cryptography, python3-cbor2); "
                  "handover messages from the recorded iPhone exchange",
        "homekey": homekey(),
        "aliro": aliro(),
    }
    path = os.path.join(HERE, "..", "session_vectors.json")
    if sys.argv[1:] == ["--check"]:
        with open(path) as f:
            stored = json.load(f)
        if stored != vector:
            for part in ("homekey", "aliro"):
                for k, v in vector[part].items():
                    if stored.get(part, {}).get(k) != v:
                        print(f"{part}.{k} differs", file=sys.stderr)
            sys.exit(1)
        print("session_vectors.json: every value reproduced")
        return
    print(json.dumps(vector, indent=1))


if __name__ == "__main__":
    main()
