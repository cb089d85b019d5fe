#!/usr/bin/env python3
# HKDF-SHA256 (RFC 5869 §2.2-2.3) written directly on hmac/hashlib:
# SystemKeys = HKDF(salt = none, IKM = SK, info = "SystemKeys", L = 96).
import hashlib, hmac, sys

def hkdf(ikm, info, length, salt=b""):
    if not salt:
        salt = bytes(hashlib.sha256().digest_size)  # RFC 5869 §2.2: HashLen zeros
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, t, i = b"", b"", 1
    while len(okm) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:length]

for sk in sys.argv[1:]:
    okm = hkdf(bytes.fromhex(sk), b"SystemKeys", 96)
    names = ["Kenc", "Kmac", "Krmac", "LONG_TERM_SHARED_SECRET", "Kble_intro", "Kble_oob_master"]
    print(sk)
    for n, i in zip(names, range(0, 96, 16)):
        print("  %-24s %s" % (n, okm[i:i+16].hex()))
