package pairing

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"github.com/opencarkey/sdk/dkey"
)

// MailboxMapping is the layout of a key's private mailbox that the vehicle
// writes at pairing (WRITE DATA tag 7F4D, docs/protocol.md §5.3): where the
// signaling bitmap and the key-attestation area are, so that the device
// framework and later the vehicle find them. The tag meanings are [IOS]'s;
// the subset carried here, the 2-byte big-endian values and their order are
// the project's choice (§11 item 4).
//
//	7F4D { C3 attestation offset, D0 signaling bitmap offset, D1 end,
//	       D2 immobilizer-token length, D4 attestation length }
type MailboxMapping struct {
	// AttestationOffset (C3) is where the key-attestation area starts in the
	// private mailbox.
	AttestationOffset uint16
	// SignalingBitmap (D0) is the offset of the one-byte signaling bitmap in
	// the private mailbox.
	SignalingBitmap uint16
	// End (D1) is the end of the used part of the private mailbox.
	End uint16
	// ImmobilizerTokenLength (D2) is the length of one immobilizer token,
	// which the vehicle keeps in the confidential mailbox; 0 means the
	// vehicle provisions none.
	ImmobilizerTokenLength uint16
	// AttestationLength (D4) is the length of the key-attestation area;
	// 0 means none.
	AttestationLength uint16
}

// Validate checks that m lies within a private mailbox of privateSize bytes
// and a confidential mailbox of confidentialSize bytes: the signaling bitmap
// and the attestation area below End, End within the mailbox, the two not
// overlapping, and the token within the confidential mailbox.
func (m MailboxMapping) Validate(privateSize, confidentialSize uint16) error {
	attEnd := int(m.AttestationOffset) + int(m.AttestationLength)
	switch {
	case m.End > privateSize:
		return fmt.Errorf("%w: mapping ends at %d, past the private mailbox of %d bytes", ErrKeyConfig, m.End, privateSize)
	case m.SignalingBitmap >= m.End:
		return fmt.Errorf("%w: signaling bitmap at %d, not below the end %d", ErrKeyConfig, m.SignalingBitmap, m.End)
	case attEnd > int(m.End):
		return fmt.Errorf("%w: attestation area [%d,%d) past the end %d", ErrKeyConfig, m.AttestationOffset, attEnd, m.End)
	case m.AttestationLength > 0 && int(m.SignalingBitmap) >= int(m.AttestationOffset) && int(m.SignalingBitmap) < attEnd:
		return fmt.Errorf("%w: signaling bitmap at %d inside the attestation area", ErrKeyConfig, m.SignalingBitmap)
	case m.ImmobilizerTokenLength > confidentialSize:
		return fmt.Errorf("%w: immobilizer token of %d bytes in a confidential mailbox of %d", ErrKeyConfig, m.ImmobilizerTokenLength, confidentialSize)
	}
	return nil
}

// OwnerKeyConfig is the configuration of the owner key that the vehicle writes at
// pairing and the endpoint certificate then certifies: mailbox sizes and the
// AUTH1 subsets (7F4E tags 4A and 4B), the private-mailbox mapping (7F4D) and
// the option groups (7F4E tags D7 and D8, which become option_group_1 and
// option_group_2 of the endpoint certificate; docs/protocol.md §5.4, §10.2).
type OwnerKeyConfig struct {
	Mailboxes    dkey.MailboxConfig
	Mapping      MailboxMapping
	OptionGroup1 byte
	OptionGroup2 byte
}

// DefaultOwnerKeyConfig returns the project's default owner-key configuration: a
// 512-byte private mailbox laid out as package sharing reads it (signaling
// bitmap at 0, a 2-byte area length at 1, the statement area from 3 to the
// end), whose 3-byte header comes back in AUTH1 so that the vehicle knows
// without an EXCHANGE whether statements wait; a 64-byte confidential
// mailbox whose first 16 bytes, the immobilizer token, come back in AUTH1.
// This package does not import sharing (docs/architecture.md); a test in package
// vehicle checks that the two layouts agree.
func DefaultOwnerKeyConfig() OwnerKeyConfig {
	return OwnerKeyConfig{
		Mailboxes: dkey.MailboxConfig{
			PrivateSize:       512,
			ConfidentialSize:  64,
			PrivateAuth1:      dkey.MailboxRange{Offset: 0, Length: 3},
			ConfidentialAuth1: dkey.MailboxRange{Offset: 0, Length: 16},
		},
		Mapping: MailboxMapping{SignalingBitmap: 0, AttestationOffset: 3, AttestationLength: 509, End: 512, ImmobilizerTokenLength: 16},
	}
}

// Validate checks the mailbox configuration and the mapping against it.
func (c *OwnerKeyConfig) Validate() error {
	if err := c.Mailboxes.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyConfig, err)
	}
	return c.Mapping.Validate(c.Mailboxes.PrivateSize, c.Mailboxes.ConfidentialSize)
}

// VehicleConfig configures the vehicle side of pairing. It must not be
// modified after it has been passed to NewVehicleSession.
type VehicleConfig struct {
	// VehicleID identifies the vehicle; pairing is CCC only, so it is
	// 8 bytes (the endpoint certificate's vehicle_identifier).
	VehicleID dkey.VehicleID
	// VehicleKey is the vehicle's long-term public key (vehicle.PK), which
	// the vehicle certificate must certify and the endpoint certificate
	// binds.
	VehicleKey *dkey.PublicKey
	// VehicleRoot is the Vehicle OEM root certificate (DER). The vehicle
	// sends it in 7F4A and the device keeps it as the trust anchor of this
	// vehicle, also for sharing (docs/protocol.md §3.7).
	VehicleRoot []byte
	// Certificates is the vehicle chain (DER), leaf first: the vehicle
	// certificate [K] (7F4B), then at most two intermediates, the vehicle
	// intermediate [8] and the Vehicle OEM CA [J] (each in a 7F4C). The leaf
	// certifies the vehicle's long-term key.
	Certificates [][]byte
	// DeviceRoots are the Device OEM roots that endpoint chains must lead to.
	DeviceRoots *x509.CertPool
	// Time returns the current time for certificate validity; nil means
	// time.Now.
	Time func() time.Time
	// Brand is the vehicle brand identifier (SPAKE2+ REQUEST tag D6).
	Brand uint16
	// FrameworkVersions and AppletVersions are the framework (SPAKE2+) and
	// applet protocol versions the vehicle speaks, highest first; the zero
	// value means 1.0.
	FrameworkVersions, AppletVersions dkey.VersionList
	// KeyConfig is the owner key's configuration; nil means
	// DefaultOwnerKeyConfig.
	KeyConfig *OwnerKeyConfig
	// Evidence selects what the SPAKE2+ evidence MACs; the device must use
	// the same.
	Evidence Evidence
	// Rand, when not nil, replaces crypto/rand as the source of the
	// vehicle's SPAKE2+ scalar y (see "Key log and deterministic
	// randomness" in the package documentation). It is for tests and
	// conformance vectors only: a predictable y lets an eavesdropper test
	// pairing passwords offline. Nil, the default, means crypto/rand.
	Rand io.Reader
	// KeyLog, when not nil, receives the keys of the pairing channel
	// (Kenc, Kmac, Krmac) once per run, in the key log format of the
	// package documentation.
	//
	// WARNING: anyone who reads the key log can decrypt the recorded
	// pairing, certificates and key configuration included. Use it on test
	// benches only, never in a vehicle. Nil, the default, logs nothing.
	KeyLog io.Writer
}

// DeviceConfig configures the device side of pairing: the applet instance's
// certificate authority, which certifies every endpoint key the applet
// creates (docs/protocol.md §10.1). It must not be modified after use.
type DeviceConfig struct {
	// InstanceCA is the instance CA certificate [E] of the applet, and
	// InstanceCAKey its key, typically in the secure element.
	InstanceCA    *x509.Certificate
	InstanceCAKey crypto.Signer
	// Intermediate is the Device OEM intermediate [F] that issued the
	// instance CA, nil when the Device OEM root issued it directly.
	Intermediate *x509.Certificate
	// FrameworkVersions and AppletVersions are the versions the device
	// speaks, highest first; the zero value means 1.0.
	FrameworkVersions, AppletVersions dkey.VersionList
	// Evidence selects what the SPAKE2+ evidence MACs; the vehicle must use
	// the same.
	Evidence Evidence
	// Time returns the current time, for the validity of the vehicle chain;
	// nil means time.Now. The endpoint certificate takes the validity of
	// the instance CA.
	Time func() time.Time
	// Rand, when not nil, replaces crypto/rand as the source of the
	// device's SPAKE2+ scalar x and of the new key's slot identifier (see
	// "Key log and deterministic randomness" in the package
	// documentation). It is for tests and conformance vectors only. Nil,
	// the default, means crypto/rand. The endpoint key itself comes from
	// the SecureElement, and the certificate's serial number and
	// signature from package cert and the instance CA key, not from Rand.
	Rand io.Reader
	// KeyLog, when not nil, receives the keys of the pairing channel
	// (Kenc, Kmac, Krmac) once per run, in the key log format of the
	// package documentation.
	//
	// WARNING: anyone who reads the key log can decrypt the recorded
	// pairing. Use it on test benches only, never in a device. Nil, the
	// default, logs nothing.
	KeyLog io.Writer
}

// defaultVersions returns l, or the list holding version 1.0 when l is
// empty.
func defaultVersions(l dkey.VersionList) dkey.VersionList {
	if l.Len() > 0 {
		return l
	}
	v, _ := dkey.NewVersionList(dkey.Version1)
	return v
}
