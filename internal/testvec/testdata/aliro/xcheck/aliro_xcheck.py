#!/usr/bin/python3
# Copyright 2026 The opencarkey Authors. SPDX-License-Identifier: Apache-2.0
"""A second, independent implementation of the Aliro 1.0 expedited phase.

It exists to cross-check the Go implementation in package transaction: it
shares no code with it and is written from the published Aliro 1.0
specification (CSA 26-42802-001, sections 8.3.1, 8.3.3, 10.2, 13.3). It uses
only the Python standard library and Debian's python3-cryptography (38.0.4
or newer).

    /usr/bin/python3 aliro_xcheck.py            check every vector in ..
    /usr/bin/python3 aliro_xcheck.py --generate  rewrite ../xcheck_fixed.json

Checking recomputes every derived value of the specification's worked
examples (14.1 to 14.4), of the NXP unit-test vector and of the project's
fixed-key vector from their inputs, and verifies every signature and
ciphertext. Generating builds the fixed-key vector from scalars derived from
fixed labels; only the two ECDSA signatures in it are random, so running
--generate twice changes them and nothing else.
"""

import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_der_private_key

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.dirname(HERE)
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

AID_EXPEDITED = bytes.fromhex("a000000909acce5501")
USAGE_READER = bytes.fromhex("415d9569")
USAGE_DEVICE = bytes.fromhex("4e887b4c")


# --- encodings -------------------------------------------------------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xFF])


def tlv(tag, value):
    tag = bytes([tag]) if isinstance(tag, int) else tag
    return tag + der_len(len(value)) + value


def u16(v):
    return v.to_bytes(2, "big")


# --- keys ------------------------------------------------------------------

def private_key(scalar_hex):
    return ec.derive_private_key(int(scalar_hex, 16), ec.SECP256R1())


def point(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    n = key.public_numbers()
    return b"\x04" + n.x.to_bytes(32, "big") + n.y.to_bytes(32, "big")


def public_key(raw):
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def x_of(raw):
    assert len(raw) == 65 and raw[0] == 4
    return raw[1:33]


def sign_raw(key, message):
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_raw(pub_raw, message, sig):
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    public_key(pub_raw).verify(der, message, ec.ECDSA(hashes.SHA256()))


# --- Aliro 1.0 section 8.3.1 ----------------------------------------------

def hkdf(ikm, salt, info, length):
    """RFC 5869 with HMAC-SHA-256 (section 8.3.1.5)."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def kdh(ephemeral_private, peer_raw, txid):
    """Section 8.3.1.4: ECKA-DH then the X9.63 KDF (one SHA-256 block)."""
    z = ephemeral_private.exchange(ec.ECDH(), public_key(peer_raw))
    return z, hashlib.sha256(z + b"\x00\x00\x00\x01" + txid).digest()


def salt(label, group_key_x, reader_id, iface, version, reader_epk_x, txid, flag, a5, credential_x=b""):
    """salt_fast, salt_volatile and salt_persistent of 8.3.1.12 and 8.3.1.13."""
    return (group_key_x + label + reader_id + bytes([iface]) + b"\x5c\x02" + version +
            reader_epk_x + txid + flag + a5 + credential_x)


def auth_data(reader_id, endpoint_epk_x, reader_epk_x, txid, usage):
    """Tables 8-12 and 8-13."""
    return tlv(0x4D, reader_id) + tlv(0x86, endpoint_epk_x) + tlv(0x87, reader_epk_x) + tlv(0x4C, txid) + tlv(0x93, usage)


def gcm(key, direction, counter):
    """Sections 8.3.1.6 to 8.3.1.9: AES-256-GCM, IV = 8-byte direction || 4-byte counter."""
    return AESGCM(key), direction.to_bytes(8, "big") + counter.to_bytes(4, "big")


def seal(key, direction, counter, plaintext):
    a, iv = gcm(key, direction, counter)
    return a.encrypt(iv, plaintext, None)


def open_(key, direction, counter, ciphertext):
    a, iv = gcm(key, direction, counter)
    return a.decrypt(iv, ciphertext, None)


# --- section 13.3: profile0000 ----------------------------------------------

DEFAULTS = {0x80: b"\x01", 0x81: b"issuer", 0x82: b"200101000000Z", 0x83: b"490101000000Z", 0x84: b"subject"}


def der_read(b):
    tag, n = b[0], b[1]
    if n < 0x80:
        return tag, b[2:2 + n], b[2 + n:]
    k = n & 0x7F
    n = int.from_bytes(b[2:2 + k], "big")
    return tag, b[2 + k:2 + k + n], b[2 + k + n:]


def parse_profile0000(b):
    tag, body, rest = der_read(b)
    assert tag == 0x30 and rest == b""
    tag, profile, body = der_read(body)
    assert tag == 0x04 and profile == b"\x00\x00"
    tag, data, rest = der_read(body)
    assert tag == 0x30 and rest == b""
    fields = dict(DEFAULTS)
    while data:
        tag, value, data = der_read(data)
        fields[tag] = value
    return fields


def decompress(fields, issuer_raw):
    """Section 13.3.2: rebuild the reference X.509 certificate."""
    def name(cn):
        return tlv(0x30, tlv(0x31, tlv(0x30, bytes.fromhex("0603550403") + tlv(0x0C, cn))))

    def time(t):
        return tlv(0x17 if len(t) == 13 else 0x18, t)
    aki = hashlib.sha1(issuer_raw).digest()
    ecdsa_sha256 = tlv(0x30, bytes.fromhex("06082a8648ce3d040302"))
    extensions = tlv(0xA3, tlv(0x30,
                               tlv(0x30, bytes.fromhex("0603551d23") + tlv(0x04, tlv(0x30, tlv(0x80, aki)))) +
                               bytes.fromhex("300c0603551d130101ff04023000") +
                               bytes.fromhex("300e0603551d0f0101ff040403020780")))
    spki = tlv(0x30, bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107") + tlv(0x03, fields[0x85]))
    tbs = tlv(0x30, bytes.fromhex("a003020102") + tlv(0x02, fields[0x80]) + ecdsa_sha256 + name(fields[0x81]) +
              tlv(0x30, time(fields[0x82]) + time(fields[0x83])) + name(fields[0x84]) + spki + extensions)
    return tbs, tlv(0x30, tbs + ecdsa_sha256 + tlv(0x03, fields[0x86]))


def verify_certificate(compressed, issuer_raw):
    fields = parse_profile0000(compressed)
    tbs, x509 = decompress(fields, issuer_raw)
    assert fields[0x86][0] == 0 and fields[0x85][0] == 0
    public_key(issuer_raw).verify(fields[0x86][1:], tbs, ec.ECDSA(hashes.SHA256()))
    return fields[0x85][1:], x509


def issue_certificate(issuer, subject_raw):
    """A profile0000 certificate with every default field, signed by issuer."""
    fields = dict(DEFAULTS)
    fields[0x85] = b"\x00" + subject_raw
    fields[0x86] = b"\x00"  # placeholder
    tbs, _ = decompress(fields, point(issuer))
    fields[0x86] = b"\x00" + issuer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return tlv(0x30, tlv(0x04, b"\x00\x00") + tlv(0x30, tlv(0x85, fields[0x85]) + tlv(0x86, fields[0x86])))


# --- messages --------------------------------------------------------------

def fci(versions, extended=None):
    """Table 10-2: 6F { 84 AID, A5 { 80 type, 5C versions, [7F66 ...] } }."""
    a5 = tlv(0x80, b"\x00\x00") + tlv(0x5C, b"".join(versions))
    if extended:
        a5 += tlv(b"\x7f\x66", tlv(0x02, u16(extended[0])) + tlv(0x02, u16(extended[1])))
    a5 = tlv(0xA5, a5)
    return tlv(0x6F, tlv(0x84, AID_EXPEDITED) + a5), a5


def apdu(cla, ins, data, le=True):
    return bytes([cla, ins, 0, 0, len(data)]) + data + (b"\x00" if le else b"")


def exchange_response(reads, status=0):
    """Table 8-20 and 8.3.3.5.5."""
    return b"".join(u16(len(r)) + r for r in reads) + b"\x00\x02" + u16(status)


# --- checks ----------------------------------------------------------------

def h(d, k):
    return bytes.fromhex(d[k]) if d.get(k) else b""


def check_transaction(v):
    """Recompute everything a standard or fast vector derives from its inputs."""
    rid, txid, ver, iface = h(v, "reader_identifier"), h(v, "transaction_identifier"), h(v, "protocol_version"), h(v, "interface")[0]
    flag = h(v, "command_parameters") + h(v, "authentication_policy")
    sel = h(v, "select_response")
    assert sel[-2:] == b"\x90\x00"
    tag, fci_value, rest = der_read(sel[:-2])
    assert tag == 0x6F and rest == b""
    _, aid, after = der_read(fci_value)
    assert aid == AID_EXPEDITED
    tag, _, rest = der_read(after)
    assert tag == 0xA5
    a5 = after[:len(after) - len(rest)]
    group_x = x_of(h(v, "reader_group_key"))
    repk, eepk = h(v, "reader_ephemeral_public_key"), h(v, "endpoint_ephemeral_public_key")
    assert point(private_key(v["reader_ephemeral_private_key"])) == repk
    if v.get("endpoint_ephemeral_private_key"):
        assert point(private_key(v["endpoint_ephemeral_private_key"])) == eepk
    b1, b2 = h(v, "auth0_command_extension"), h(v, "auth0_response_extension")
    info = x_of(eepk) + (tlv(0xB1, b1) if b1 else b"") + (tlv(0xB2, b2) if b2 else b"")
    if v.get("info"):
        assert info == h(v, "info"), "info"
    cred_raw = h(v, "credential_public_key")
    if v.get("credential_private_key"):
        assert point(private_key(v["credential_private_key"])) == cred_raw
    if v.get("auth0_command"):
        b1 = h(v, "auth0_command_extension")
        data = (tlv(0x41, h(v, "command_parameters")) + tlv(0x42, h(v, "authentication_policy")) + tlv(0x5C, ver) +
                tlv(0x87, repk) + tlv(0x4C, txid) + tlv(0x4D, rid) + (tlv(0xB1, b1) if b1 else b""))
        assert apdu(0x80, 0x80, data) == h(v, "auth0_command"), "AUTH0 command"
    out = {}
    if v.get("auth0_response") and not v.get("cryptogram"):
        b2 = h(v, "auth0_response_extension")
        assert tlv(0x86, eepk) + (tlv(0xB2, b2) if b2 else b"") + b"\x90\x00" == h(v, "auth0_response"), "AUTH0 response"
    if v.get("cryptogram"):
        s = salt(b"VolatileFast", group_x, rid, iface, ver, x_of(repk), txid, flag, a5, x_of(cred_raw))
        if v.get("salt_fast"):
            assert s == h(v, "salt_fast"), "salt_fast"
        okm = hkdf(h(v, "persistent"), s, info, 160)
        names = ["cryptogram_sk", "expedited_sk_reader", "expedited_sk_device", "ble_sk", "ursk"]
        for i, k in enumerate(names):
            if v.get(k):
                assert okm[32 * i:32 * i + 32] == h(v, k), k
        pt = AESGCM(okm[:32]).decrypt(bytes(12), h(v, "cryptogram"), None)
        if v.get("cryptogram_plaintext"):
            assert pt == h(v, "cryptogram_plaintext"), "cryptogram"
        assert pt[:4] == b"\x5e\x02" + pt[2:4] and pt[4:6] == b"\x91\x14" and pt[26:28] == b"\x92\x14" and len(pt) == 48
        if v.get("auth0_response"):
            b2 = h(v, "auth0_response_extension")
            data = tlv(0x86, eepk) + tlv(0x9D, h(v, "cryptogram")) + (tlv(0xB2, b2) if b2 else b"")
            assert data + b"\x90\x00" == h(v, "auth0_response"), "AUTH0 response"
        out["skr"], out["skd"] = okm[32:64], okm[64:96]
    if v.get("auth1_command"):
        z, k = kdh(private_key(v["reader_ephemeral_private_key"]), eepk, txid)
        assert z == h(v, "shared_secret") and k == h(v, "kdh"), "Kdh"
        reader_data = auth_data(rid, x_of(eepk), x_of(repk), txid, USAGE_READER)
        assert reader_data == h(v, "reader_signature_input")
        signer = h(v, "reader_public_key")
        if v.get("reader_certificate"):
            subject, x509 = verify_certificate(h(v, "reader_certificate"), h(v, "reader_group_key"))
            assert subject == signer
            if v.get("decompressed_certificate"):
                assert x509 == h(v, "decompressed_certificate"), "decompressed certificate"
        verify_raw(signer, reader_data, h(v, "reader_signature"))
        # The section 14.2 example binds the certificate's subject key (the
        # reader_PubK) where 8.3.1.13 says reader_group_identifier_key.
        key_x = x_of(signer) if v.get("salt_uses_subject_key") else group_x
        s = salt(b"Volatile****", key_x, rid, iface, ver, x_of(repk), txid, flag, a5)
        assert s == h(v, "salt_volatile"), "salt_volatile"
        okm = hkdf(k, s, info, 160)
        for i, name in enumerate(["expedited_sk_reader", "expedited_sk_device", "step_up_sk", "ble_sk", "ursk"]):
            assert okm[32 * i:32 * i + 32] == h(v, name), name
        resp = h(v, "auth1_response")
        assert resp[-2:] == b"\x90\x00"
        pt = open_(okm[32:64], 1, 1, resp[:-2])
        assert pt == h(v, "auth1_plaintext"), "AUTH1 plaintext"
        verify_raw(cred_raw, auth_data(rid, x_of(eepk), x_of(repk), txid, USAGE_DEVICE), h(v, "endpoint_signature"))
        assert auth_data(rid, x_of(eepk), x_of(repk), txid, USAGE_DEVICE) == h(v, "endpoint_signature_input")
        sp = salt(b"Persistent**", key_x, rid, iface, ver, x_of(repk), txid, flag, a5, x_of(cred_raw))
        assert sp == h(v, "salt_persistent"), "salt_persistent"
        assert hkdf(k, sp, info, 32) == h(v, "persistent"), "Kpersistent"
        out["skr"], out["skd"] = okm[0:32], okm[32:64]
    for i, x in enumerate(v.get("exchanges", [])):
        cmd, rsp = bytes.fromhex(x["command"]), bytes.fromhex(x["response"])
        assert cmd[:5] == bytes([0x80, 0xC9, 0, 0, len(cmd) - 6]) and cmd[-1] == 0
        assert open_(out["skr"], 0, x["reader_counter"], cmd[5:-1]) == bytes.fromhex(x["command_plaintext"]), "EXCHANGE %d" % i
        assert rsp[-2:] == b"\x90\x00"
        assert open_(out["skd"], 1, x["device_counter"], rsp[:-2]) == bytes.fromhex(x["response_plaintext"]), "EXCHANGE response %d" % i


def check_certificates(path):
    for demo in json.load(open(path))["demos"]:
        issuer = load_der_private_key(bytes.fromhex(demo["issuer_private_key"]), None)
        assert point(issuer) == bytes.fromhex(demo["issuer_public_key"])
        subject, x509 = verify_certificate(bytes.fromhex(demo["compressed"]), bytes.fromhex(demo["issuer_public_key"]))
        assert subject == bytes.fromhex(demo["reader_public_key"]), demo["name"]
        assert x509 == bytes.fromhex(demo["x509"]), demo["name"]


# --- the fixed-key vector -------------------------------------------------

def scalar(label):
    s = int.from_bytes(hashlib.sha256(b"opencarkey aliro xcheck " + label).digest(), "big")
    assert 0 < s < N
    return "%064x" % s


def generate():
    """One standard transaction with LOAD CERT, vendor extensions on both
    sides, a key-slot AUTH1, mailbox and status EXCHANGEs; then one fast
    transaction over BLE (interface C3) with an EXCHANGE."""
    issuer = private_key(scalar(b"issuer"))
    reader = private_key(scalar(b"reader"))
    cred = private_key(scalar(b"credential"))
    cert = issue_certificate(issuer, point(reader))
    rid = hashlib.sha256(b"group").digest()[:16] + hashlib.sha256(b"sub-group").digest()[:16]
    sel_data, a5 = fci([b"\x01\x00", b"\x00\x09"], extended=(0x0400, 0x0400))
    b1 = tlv(0x30, tlv(0x04, b"\x00\x11\x22") + tlv(0x80, b"reader"))
    b2 = tlv(0x30, tlv(0x04, b"\x33\x44\x55") + tlv(0x80, b"device"))
    common = {
        "reader_private_key": scalar(b"reader"), "reader_public_key": point(reader).hex(),
        "reader_group_key": point(issuer).hex(), "reader_group_private_key": scalar(b"issuer"),
        "reader_identifier": rid.hex(), "credential_private_key": scalar(b"credential"),
        "credential_public_key": point(cred).hex(), "protocol_version": "0100",
        "select_command": "00a4040009a000000909acce550100",
        "select_response": (sel_data + b"\x90\x00").hex(),
    }

    # Standard transaction.
    re, ee = private_key(scalar(b"standard reader ephemeral")), private_key(scalar(b"standard endpoint ephemeral"))
    txid = hashlib.sha256(b"standard txid").digest()[:16]
    cp, pol, iface = b"\x00", b"\x02", 0x5E
    auth0 = apdu(0x80, 0x80, tlv(0x41, cp) + tlv(0x42, pol) + tlv(0x5C, b"\x01\x00") + tlv(0x87, point(re)) +
                 tlv(0x4C, txid) + tlv(0x4D, rid) + tlv(0xB1, b1))
    auth0_rsp = tlv(0x86, point(ee)) + tlv(0xB2, b2) + b"\x90\x00"
    reader_data = auth_data(rid, x_of(point(ee)), x_of(point(re)), txid, USAGE_READER)
    reader_sig = sign_raw(reader, reader_data)
    auth1 = apdu(0x80, 0x81, tlv(0x41, b"\x00") + tlv(0x9E, reader_sig))
    z, k = kdh(re, point(ee), txid)
    info = x_of(point(ee)) + tlv(0xB1, b1) + tlv(0xB2, b2)
    sv = salt(b"Volatile****", x_of(point(issuer)), rid, iface, b"\x01\x00", x_of(point(re)), txid, cp + pol, a5)
    okm = hkdf(k, sv, info, 160)
    dev_data = auth_data(rid, x_of(point(ee)), x_of(point(re)), txid, USAGE_DEVICE)
    dev_sig = sign_raw(cred, dev_data)
    slot = hashlib.sha1(point(cred)).digest()[:8]
    plain = (tlv(0x4E, slot) + tlv(0x9E, dev_sig) + tlv(0x4B, b"\x60\x03\x81\x01\x00") + tlv(0x5E, b"\x00\x33") +
             tlv(0x91, b"2026-03-01T08:00:00Z") + tlv(0x92, b"2026-03-02T09:30:00Z"))
    auth1_rsp = seal(okm[32:64], 1, 1, plain) + b"\x90\x00"
    sp = salt(b"Persistent**", x_of(point(issuer)), rid, iface, b"\x01\x00", x_of(point(re)), txid, cp + pol, a5, x_of(point(cred)))
    persistent = hkdf(k, sp, info, 32)
    mailbox = tlv(0xBA, tlv(0x8C, b"\x01") + tlv(0x87, u16(0) + u16(4)) + tlv(0x8A, u16(4) + b"\xa1\xa2\xa3") +
                  tlv(0x95, u16(0x10) + u16(3) + b"\xee"))
    x1 = mailbox + tlv(0xAE, tlv(0x82, u16(0x0001)))
    r1 = exchange_response([b"\x60\x03\x81\x01"])
    x2 = tlv(0xBA, tlv(0x8C, b"\x00")) + tlv(0x97, b"\x01\x01")
    r2 = exchange_response([])
    exchanges = []
    for i, (c, r) in enumerate([(x1, r1), (x2, r2)]):
        exchanges.append({"command_plaintext": c.hex(), "response_plaintext": r.hex(),
                          "reader_counter": i + 1, "device_counter": i + 2,
                          "command": apdu(0x80, 0xC9, seal(okm[0:32], 0, i + 1, c)).hex(),
                          "response": (seal(okm[32:64], 1, i + 2, r) + b"\x90\x00").hex()})
    standard = dict(common)
    standard.update({
        "name": "project fixed-key vector: expedited-standard with LOAD CERT, vendor extensions, key slot, EXCHANGE",
        "source": "generated by internal/testvec/testdata/aliro/xcheck/aliro_xcheck.py --generate",
        "reader_certificate": cert.hex(), "load_certificate_command": apdu(0x80, 0xD1, cert, le=False).hex(),
        "reader_ephemeral_private_key": scalar(b"standard reader ephemeral"), "reader_ephemeral_public_key": point(re).hex(),
        "endpoint_ephemeral_private_key": scalar(b"standard endpoint ephemeral"), "endpoint_ephemeral_public_key": point(ee).hex(),
        "transaction_identifier": txid.hex(), "command_parameters": cp.hex(), "authentication_policy": pol.hex(),
        "interface": "%02x" % iface, "auth0_command_extension": b1.hex(), "auth0_response_extension": b2.hex(),
        "auth0_command": auth0.hex(), "auth0_response": auth0_rsp.hex(),
        "reader_signature_input": reader_data.hex(), "reader_signature": reader_sig.hex(), "auth1_command": auth1.hex(),
        "shared_secret": z.hex(), "kdh": k.hex(), "salt_volatile": sv.hex(), "info": info.hex(),
        "expedited_sk_reader": okm[0:32].hex(), "expedited_sk_device": okm[32:64].hex(), "step_up_sk": okm[64:96].hex(),
        "ble_sk": okm[96:128].hex(), "ursk": okm[128:160].hex(),
        "endpoint_signature_input": dev_data.hex(), "endpoint_signature": dev_sig.hex(), "key_slot": slot.hex(),
        "auth1_plaintext": plain.hex(), "auth1_response": auth1_rsp.hex(),
        "salt_persistent": sp.hex(), "persistent": persistent.hex(), "exchanges": exchanges,
    })

    # Fast transaction over BLE with the Kpersistent of the standard one.
    re, ee = private_key(scalar(b"fast reader ephemeral")), private_key(scalar(b"fast endpoint ephemeral"))
    txid = hashlib.sha256(b"fast txid").digest()[:16]
    cp, pol, iface = b"\x01", b"\x01", 0xC3
    auth0 = apdu(0x80, 0x80, tlv(0x41, cp) + tlv(0x42, pol) + tlv(0x5C, b"\x01\x00") + tlv(0x87, point(re)) +
                 tlv(0x4C, txid) + tlv(0x4D, rid))
    info = x_of(point(ee))
    sf = salt(b"VolatileFast", x_of(point(issuer)), rid, iface, b"\x01\x00", x_of(point(re)), txid, cp + pol, a5, x_of(point(cred)))
    okm = hkdf(persistent, sf, info, 160)
    cpt = tlv(0x5E, b"\x00\x33") + tlv(0x91, b"2026-03-01T08:00:00Z") + tlv(0x92, bytes(20))
    cryptogram = AESGCM(okm[:32]).encrypt(bytes(12), cpt, None)
    auth0_rsp = tlv(0x86, point(ee)) + tlv(0x9D, cryptogram) + b"\x90\x00"
    x1 = tlv(0x97, b"\x01\x01")
    r1 = exchange_response([])
    fast = dict(common)
    fast.update({
        "name": "project fixed-key vector: expedited-fast over BLE (interface C3) with EXCHANGE",
        "source": "generated by internal/testvec/testdata/aliro/xcheck/aliro_xcheck.py --generate",
        "reader_ephemeral_private_key": scalar(b"fast reader ephemeral"), "reader_ephemeral_public_key": point(re).hex(),
        "endpoint_ephemeral_private_key": scalar(b"fast endpoint ephemeral"), "endpoint_ephemeral_public_key": point(ee).hex(),
        "transaction_identifier": txid.hex(), "command_parameters": cp.hex(), "authentication_policy": pol.hex(),
        "interface": "%02x" % iface, "auth0_command": auth0.hex(), "auth0_response": auth0_rsp.hex(),
        "persistent": persistent.hex(), "salt_fast": sf.hex(), "info": info.hex(),
        "cryptogram_sk": okm[0:32].hex(), "expedited_sk_reader": okm[32:64].hex(), "expedited_sk_device": okm[64:96].hex(),
        "ble_sk": okm[96:128].hex(), "ursk": okm[128:160].hex(),
        "cryptogram_plaintext": cpt.hex(), "cryptogram": cryptogram.hex(),
        "exchanges": [{"command_plaintext": x1.hex(), "response_plaintext": r1.hex(), "reader_counter": 1, "device_counter": 1,
                       "command": apdu(0x80, 0xC9, seal(okm[32:64], 0, 1, x1)).hex(),
                       "response": (seal(okm[64:96], 1, 1, r1) + b"\x90\x00").hex()}],
    })
    with open(os.path.join(VECTORS, "xcheck_fixed.json"), "w") as f:
        json.dump({"standard": standard, "fast": fast}, f, indent=2)
        f.write("\n")


def main():
    if sys.argv[1:] == ["--generate"]:
        generate()
    elif sys.argv[1:]:
        sys.exit(__doc__)
    check_certificates(os.path.join(VECTORS, "spec_14_1_certificates.json"))
    for name in ["spec_14_2_standard_certificate.json", "spec_14_3_standard.json", "spec_14_4_fast.json", "nxp_fast.json"]:
        check_transaction(json.load(open(os.path.join(VECTORS, name))))
    x = json.load(open(os.path.join(VECTORS, "xcheck_fixed.json")))
    check_transaction(x["standard"])
    check_transaction(x["fast"])
    print("ok: every Aliro vector checks")


if __name__ == "__main__":
    main()
