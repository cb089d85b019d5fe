package transaction

import (
	"crypto"
	"crypto/sha1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/opencarkey/sdk/dkey"
)

// ErrCertificate reports a reader certificate that does not parse, does not
// verify with the Reader System Issuer CA key, or is outside its validity.
// An endpoint answers it like ErrAuthentication when it decides AUTH1, so
// that a reader learns nothing of the keys the device holds.
var ErrCertificate = errors.New("transaction: invalid Aliro reader certificate")

// AliroCertificate is an Aliro reader certificate in the profile0000
// compressed form (Aliro 1.0 section 13.3, S; checked byte-exact against
// the section 14.1 and 14.2 examples): the fields of an X.509 certificate
// that a Reader System Issuer CA issues for a reader key, from which the
// verifier rebuilds the whole certificate to check its signature. A reader
// whose group key is a CA key presents one in LOAD CERT or in AUTH1 (tag
// 90); the device then verifies it with the CA key bound to the reader
// group and the reader's AUTH1 signature with its subject key.
//
// A nil optional field means its default: serial number 01, issuer and
// subject common names "issuer" and "subject", validity 2020-01-01 to
// 2049-01-01. A field present with the default value is kept, so that the
// compressed encoding round-trips.
type AliroCertificate struct {
	Serial    []byte // INTEGER content, 1 to 20 bytes; nil: 01
	Issuer    []byte // issuer commonName (UTF8String), 1 to 32 bytes; nil: "issuer"
	NotBefore []byte // UTCTime (13 bytes) or GeneralizedTime (15) text; nil: 200101000000Z
	NotAfter  []byte // as NotBefore; nil: 490101000000Z
	Subject   []byte // subject commonName, 1 to 32 bytes; nil: "subject"
	// PublicKey is the subject (reader) public key.
	PublicKey *dkey.PublicKey
	// Signature is the issuer's ECDSA-with-SHA256 signature, DER encoded.
	Signature []byte
}

// Defaults of the profile0000 fields (Aliro 1.0 13.3).
var (
	aliroCertDefaultSerial    = []byte{0x01}
	aliroCertDefaultIssuer    = []byte("issuer")
	aliroCertDefaultSubject   = []byte("subject")
	aliroCertDefaultNotBefore = []byte("200101000000Z")
	aliroCertDefaultNotAfter  = []byte("490101000000Z")
)

// Context-specific tags of the Profile0000Data fields.
const (
	aliroCertSerial = iota
	aliroCertIssuer
	aliroCertNotBefore
	aliroCertNotAfter
	aliroCertSubject
	aliroCertPublicKey
	aliroCertSignature
)

// aliroProfile0000 is the profile identifier of the only compression
// profile Aliro 1.0 defines.
var aliroProfile0000 = []byte{0x00, 0x00}

// ParseAliroCertificate parses a compressed reader certificate strictly: DER,
// profile 0000, the fields in order within their sizes, a public key that
// is a P-256 point and a well-formed ECDSA signature, nothing after the
// outer SEQUENCE. It returns an error wrapping ErrCertificate otherwise.
func ParseAliroCertificate(b []byte) (*AliroCertificate, error) {
	if len(b) > MaxAliroCertificate {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrCertificate, len(b), MaxAliroCertificate)
	}
	s := cryptobyte.String(b)
	var body, profile, data cryptobyte.String
	if !s.ReadASN1(&body, asn1.SEQUENCE) || !s.Empty() ||
		!body.ReadASN1(&profile, asn1.OCTET_STRING) || string(profile) != string(aliroProfile0000) ||
		!body.ReadASN1(&data, asn1.SEQUENCE) || !body.Empty() {
		return nil, fmt.Errorf("%w: not a profile0000 SEQUENCE", ErrCertificate)
	}
	c := &AliroCertificate{}
	opt := []struct {
		out      *[]byte
		min, max int
	}{
		{&c.Serial, 1, 20}, {&c.Issuer, 1, 32}, {&c.NotBefore, 13, 15}, {&c.NotAfter, 13, 15}, {&c.Subject, 1, 32},
	}
	for i, f := range opt {
		var v cryptobyte.String
		var present bool
		if !data.ReadOptionalASN1(&v, &present, asn1.Tag(i).ContextSpecific()) {
			return nil, fmt.Errorf("%w: field %d", ErrCertificate, i)
		}
		if !present {
			continue
		}
		if len(v) < f.min || len(v) > f.max {
			return nil, fmt.Errorf("%w: field %d of %d bytes", ErrCertificate, i, len(v))
		}
		*f.out = append([]byte(nil), v...)
	}
	if c.NotBefore != nil && !validCertTime(c.NotBefore) || c.NotAfter != nil && !validCertTime(c.NotAfter) {
		return nil, fmt.Errorf("%w: validity not a UTCTime or GeneralizedTime", ErrCertificate)
	}
	var key, sig cryptobyte.String
	if !data.ReadASN1(&key, asn1.Tag(aliroCertPublicKey).ContextSpecific()) ||
		!data.ReadASN1(&sig, asn1.Tag(aliroCertSignature).ContextSpecific()) || !data.Empty() {
		return nil, fmt.Errorf("%w: public key or signature missing, or trailing data", ErrCertificate)
	}
	// Both are BIT STRING contents: the unused-bits byte 00, then the bits.
	if len(key) != 1+pointSize || key[0] != 0 || len(sig) < 2 || sig[0] != 0 {
		return nil, fmt.Errorf("%w: public key or signature not a whole-byte BIT STRING", ErrCertificate)
	}
	pub, err := dkey.ParsePublicKey(key[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if _, err := dkey.SignatureFromASN1(sig[1:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	c.PublicKey, c.Signature = pub, append([]byte(nil), sig[1:]...)
	return c, nil
}

// Append appends the compressed (profile0000) encoding of c to dst.
func (c *AliroCertificate) Append(dst []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1OctetString(aliroProfile0000)
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for i, f := range [][]byte{c.Serial, c.Issuer, c.NotBefore, c.NotAfter, c.Subject} {
				if f != nil {
					b.AddASN1(asn1.Tag(i).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(f) })
				}
			}
			b.AddASN1(asn1.Tag(aliroCertPublicKey).ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddBytes(c.PublicKey.Bytes())
			})
			b.AddASN1(asn1.Tag(aliroCertSignature).ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddBytes(c.Signature)
			})
		})
	})
	return append(dst, b.BytesOrPanic()...)
}

func orDefault(v, def []byte) []byte {
	if v == nil {
		return def
	}
	return v
}

// tbs returns the DER TBSCertificate that profile0000 rebuilds (Aliro 1.0
// 13.3.2): the reference certificate with c's fields and an authority key
// identifier that is the SHA-1 of the issuer's uncompressed public key
// (RFC 5280 method 1).
func (c *AliroCertificate) tbs(issuer *dkey.PublicKey) []byte {
	aki := sha1.Sum(issuer.Bytes())
	name := func(b *cryptobyte.Builder, cn []byte) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) {
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier([]int{2, 5, 4, 3})
					b.AddASN1(asn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes(cn) })
				})
			})
		})
	}
	when := func(b *cryptobyte.Builder, t []byte) {
		tag := asn1.UTCTime
		if len(t) == 15 {
			tag = asn1.GeneralizedTime
		}
		b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(t) })
	}
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddASN1Int64(2) })
		b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(orDefault(c.Serial, aliroCertDefaultSerial)) })
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier([]int{1, 2, 840, 10045, 4, 3, 2}) })
		name(b, orDefault(c.Issuer, aliroCertDefaultIssuer))
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			when(b, orDefault(c.NotBefore, aliroCertDefaultNotBefore))
			when(b, orDefault(c.NotAfter, aliroCertDefaultNotAfter))
		})
		name(b, orDefault(c.Subject, aliroCertDefaultSubject))
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier([]int{1, 2, 840, 10045, 2, 1})
				b.AddASN1ObjectIdentifier([]int{1, 2, 840, 10045, 3, 1, 7})
			})
			b.AddASN1(asn1.BIT_STRING, func(b *cryptobyte.Builder) {
				b.AddUint8(0)
				b.AddBytes(c.PublicKey.Bytes())
			})
		})
		b.AddASN1(asn1.Tag(3).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				// authorityKeyIdentifier, not critical.
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier([]int{2, 5, 29, 35})
					b.AddASN1(asn1.OCTET_STRING, func(b *cryptobyte.Builder) {
						b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(asn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(aki[:]) })
						})
					})
				})
				// basicConstraints, critical, cA absent (false).
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier([]int{2, 5, 29, 19})
					b.AddASN1Boolean(true)
					b.AddASN1(asn1.OCTET_STRING, func(b *cryptobyte.Builder) {
						b.AddASN1(asn1.SEQUENCE, func(*cryptobyte.Builder) {})
					})
				})
				// keyUsage, critical, digitalSignature only.
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier([]int{2, 5, 29, 15})
					b.AddASN1Boolean(true)
					b.AddASN1(asn1.OCTET_STRING, func(b *cryptobyte.Builder) {
						// BIT STRING 07 80: one bit, digitalSignature.
						b.AddASN1(asn1.BIT_STRING, func(b *cryptobyte.Builder) { b.AddBytes([]byte{0x07, 0x80}) })
					})
				})
			})
		})
	})
	return b.BytesOrPanic()
}

// X509 returns the DER X.509 certificate that c decompresses to, given the
// issuer key that its authority key identifier names (Aliro 1.0 13.3.2).
func (c *AliroCertificate) X509(issuer *dkey.PublicKey) []byte {
	tbs := c.tbs(issuer)
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier([]int{1, 2, 840, 10045, 4, 3, 2}) })
		b.AddASN1(asn1.BIT_STRING, func(b *cryptobyte.Builder) {
			b.AddUint8(0)
			b.AddBytes(c.Signature)
		})
	})
	return b.BytesOrPanic()
}

// Verify checks c's signature with the Reader System Issuer CA key issuer
// and that now lies within its validity, and returns the subject (reader)
// key. Any failure is an error wrapping ErrCertificate.
func (c *AliroCertificate) Verify(issuer *dkey.PublicKey, now time.Time) (*dkey.PublicKey, error) {
	if issuer == nil || c.PublicKey == nil {
		return nil, fmt.Errorf("%w: no key", ErrCertificate)
	}
	sig, err := dkey.SignatureFromASN1(c.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCertificate, err)
	}
	if issuer.Verify(c.tbs(issuer), &sig) != nil {
		return nil, fmt.Errorf("%w: signature does not verify", ErrCertificate)
	}
	nb, _ := parseCertTime(orDefault(c.NotBefore, aliroCertDefaultNotBefore))
	na, _ := parseCertTime(orDefault(c.NotAfter, aliroCertDefaultNotAfter))
	if now.Before(nb) || now.After(na) {
		return nil, fmt.Errorf("%w: outside its validity %v to %v", ErrCertificate, nb, na)
	}
	return c.PublicKey, nil
}

// IssueAliroCertificate signs tmpl with issuer, a Reader System Issuer CA
// key, and returns the certificate with its signature set; tmpl.PublicKey is
// the reader key it certifies and its optional fields may be nil for the
// defaults. The result goes to the reader's configuration
// (AliroReaderConfig.Certificate).
func IssueAliroCertificate(issuer crypto.Signer, tmpl *AliroCertificate) (*AliroCertificate, error) {
	ik, err := dkey.PublicKeyOf(issuer)
	if err != nil {
		return nil, fmt.Errorf("transaction: issuer key: %w", err)
	}
	c := *tmpl
	if c.PublicKey == nil {
		return nil, fmt.Errorf("%w: no subject key", ErrCertificate)
	}
	c.Signature = []byte{0x30, 0x00} // placeholder for the checks below
	for i, f := range [][]byte{c.Serial, c.Issuer, c.NotBefore, c.NotAfter, c.Subject} {
		lim := [][2]int{{1, 20}, {1, 32}, {13, 15}, {13, 15}, {1, 32}}[i]
		if f != nil && (len(f) < lim[0] || len(f) > lim[1]) {
			return nil, fmt.Errorf("%w: field %d of %d bytes", ErrCertificate, i, len(f))
		}
	}
	if c.NotBefore != nil && !validCertTime(c.NotBefore) || c.NotAfter != nil && !validCertTime(c.NotAfter) {
		return nil, fmt.Errorf("%w: validity not a UTCTime or GeneralizedTime", ErrCertificate)
	}
	sig, err := dkey.Sign(issuer, c.tbs(ik))
	if err != nil {
		return nil, fmt.Errorf("transaction: signing certificate: %w", err)
	}
	c.Signature = sig.AppendASN1(nil)
	return &c, nil
}

// validCertTime reports whether t is a UTCTime (YYMMDDHHMMSSZ) or
// GeneralizedTime (YYYYMMDDHHMMSSZ) of whole seconds in UTC.
func validCertTime(t []byte) bool {
	_, err := parseCertTime(t)
	return err == nil
}

// parseCertTime parses a UTCTime or GeneralizedTime text. A two-digit year
// below 50 is 20YY, otherwise 19YY (RFC 5280 4.1.2.5.1).
func parseCertTime(t []byte) (time.Time, error) {
	switch len(t) {
	case 13:
		v, err := time.Parse("060102150405Z0700", string(t))
		if err != nil {
			return v, err
		}
		if v.Year() >= 2050 {
			v = v.AddDate(-100, 0, 0)
		}
		return v, nil
	case 15:
		return time.Parse("20060102150405Z0700", string(t))
	}
	return time.Time{}, fmt.Errorf("%w: time of %d bytes", ErrCertificate, len(t))
}
