package spake2plus

import "filippo.io/nistec"

// pointSize is the length of a SEC 1 uncompressed P-256 point, the only
// encoding of shares, Z and V in both profiles (docs/protocol.md §0, §3.3; RFC 9383
// Appendix C).
const pointSize = 65

// The SPAKE2+ constants M and N for P-256 (RFC 9383 §4, the same values as
// RFC 9382's SPAKE2), uncompressed. RFC 9383 prints them compressed:
//
//	M = 02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f
//	N = 03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49
//
// TestConstants decompresses those and compares.
const (
	pointM = "\x04" +
		"\x88\x6e\x2f\x97\xac\xe4\x6e\x55\xba\x9d\xd7\x24\x25\x79\xf2\x99\x3b\x64\xe1\x6e\xf3\xdc\xab\x95\xaf\xd4\x97\x33\x3d\x8f\xa1\x2f" +
		"\x5f\xf3\x55\x16\x3e\x43\xce\x22\x4e\x0b\x0e\x65\xff\x02\xac\x8e\x5c\x7b\xe0\x94\x19\xc7\x85\xe0\xca\x54\x7d\x55\xa1\x2e\x2d\x20"
	pointN = "\x04" +
		"\xd8\xbb\xd6\xc6\x39\xc6\x29\x37\xb0\x4d\x99\x7f\x38\xc3\x77\x07\x19\xc6\x29\xd7\x01\x4d\x49\xa2\x4b\x4f\x98\xba\xa1\x29\x2b\x49" +
		"\x07\xd6\x0a\xa6\xbf\xad\xe4\x50\x08\xa6\x36\x33\x7f\x51\x68\xc6\x4d\x9b\xd3\x60\x34\x80\x8c\xd5\x64\x49\x0b\x1e\x65\x6e\xdb\xe7"
)

// setConstant sets p to one of pointM or pointN, which are valid points.
func setConstant(p *nistec.P256Point, c string) *nistec.P256Point {
	if _, err := p.SetBytes([]byte(c)); err != nil {
		panic("spake2plus: invalid constant point") // unreachable: TestConstants
	}
	return p
}

// parseShare sets p to the peer's share b and reports whether b is a valid
// share: exactly 65 bytes, SEC 1 uncompressed (04 prefix), on the curve, not
// the identity (RFC 9383 §3.3 and §6: "MUST abort ... if any received public
// value is not a member of the large prime-order subgroup"; P-256 has
// cofactor 1, so every curve point but the identity is in it).
func parseShare(p *nistec.P256Point, b []byte) bool {
	if len(b) != pointSize || b[0] != 4 {
		return false
	}
	if _, err := p.SetBytes(b); err != nil {
		return false
	}
	return p.IsInfinity() == 0
}

// encodePoint writes the uncompressed encoding of p, which is not the
// identity, to out.
func encodePoint(out *[pointSize]byte, p *nistec.P256Point) {
	copy(out[:], p.Bytes())
}

// mulAdd sets r = a·G + b·Q.
func mulAdd(r *nistec.P256Point, a *[scalarSize]byte, bQ *nistec.P256Point) {
	// ScalarBaseMult and ScalarMult fail only on a scalar of the wrong
	// length, which the fixed arrays exclude.
	r.ScalarBaseMult(a[:])
	r.Add(r, bQ)
}

// unblind sets r = share − w0·C, where w0C is w0·M or w0·N, and reports
// whether r is not the identity. The identity means that the peer sent
// exactly w0·C: its share carries no Diffie-Hellman value, and Z would be the
// identity too (RFC 9383 §3.3: h·(share − w0·C) must not be I).
func unblind(r, share, w0C *nistec.P256Point) bool {
	var neg nistec.P256Point
	neg.Negate(w0C)
	r.Add(share, &neg)
	neg.Set(nistec.NewP256Point())
	return r.IsInfinity() == 0
}

// erasePoint overwrites p with the identity.
func erasePoint(p *nistec.P256Point) {
	p.Set(nistec.NewP256Point())
}
