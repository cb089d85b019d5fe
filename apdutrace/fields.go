package apdutrace

import (
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/tlv"
)

// tagInfo says what a data object is: its name, how to read its value, or
// the dictionary of the objects inside it.
type tagInfo struct {
	name  string
	text  func([]byte) string
	inner dictionary
}

// dictionary names the data objects of one message. Tags mean different
// things in different messages (87 is the vehicle's ephemeral key in AUTH0
// and a read in EXCHANGE), hence one dictionary per message.
type dictionary map[tlv.Tag]tagInfo

// maxDepth bounds the nesting fieldsOf follows.
const maxDepth = 4

// fieldsOf decodes b as a sequence of BER-TLV data objects named by dict.
// What does not parse becomes one last field, "malformed", with the rest
// of the bytes.
func fieldsOf(b []byte, dict dictionary) []Field { return fieldsAt(b, dict, 0) }

func fieldsAt(b []byte, dict dictionary, depth int) []Field {
	var out []Field
	for len(b) > 0 {
		t, v, rest, err := tlv.Next(b)
		if err != nil {
			return append(out, Field{Name: "malformed", Value: b, Text: err.Error()})
		}
		info, ok := dict[t]
		f := Field{Tag: t.String(), Name: info.name, Value: v}
		switch {
		case !ok:
			f.Name = "unknown data object"
		case info.inner != nil && depth < maxDepth:
			f.Value, f.Fields = nil, fieldsAt(v, info.inner, depth+1)
		case info.text != nil:
			f.Text = info.text(v)
		}
		out = append(out, f)
		b = rest
	}
	return out
}

// Readers of values.

func versionsText(b []byte) string {
	l, err := dkey.ParseVersionList(b)
	if err != nil {
		return "invalid: " + err.Error()
	}
	return l.String()
}

func pointText(b []byte) string {
	if _, err := dkey.ParsePublicKey(b); err != nil {
		return "not a P-256 point: " + err.Error()
	}
	return "P-256 point"
}

func sizeText(want int) func([]byte) string {
	return func(b []byte) string {
		if len(b) != want {
			return fmt.Sprintf("%d bytes, want %d", len(b), want)
		}
		return ""
	}
}

// idText shows an identifier's bytes as text too when they are printable.
func idText(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return ""
		}
	}
	return fmt.Sprintf("%q", b)
}

func uintText(b []byte) string {
	if len(b) == 0 || len(b) > 4 {
		return fmt.Sprintf("%d bytes, want 1 to 4", len(b))
	}
	var v uint32
	for _, c := range b {
		v = v<<8 | uint32(c)
	}
	return fmt.Sprint(v)
}

func certText(b []byte) string {
	c, err := x509.ParseCertificate(b)
	if err != nil {
		return fmt.Sprintf("%d bytes, not a certificate: %v", len(b), err)
	}
	return fmt.Sprintf("certificate, subject %q, issuer %q, valid %s to %s, %d bytes",
		c.Subject.String(), c.Issuer.String(), c.NotBefore.UTC().Format("2006-01-02"), c.NotAfter.UTC().Format("2006-01-02"), len(b))
}

func pairingStateText(b []byte) string {
	switch {
	case len(b) != 1:
		return fmt.Sprintf("%d bytes, want 1", len(b))
	case b[0] == 0x00:
		return "no password entered"
	case b[0] == 0x02:
		return "pairing mode, password entered"
	}
	return "unknown state"
}

// mailboxConfText reads 4A and 4B of 7F4E: size, AUTH1 offset, AUTH1 length.
func mailboxConfText(b []byte) string {
	if len(b) != 6 {
		return fmt.Sprintf("%d bytes, want 6", len(b))
	}
	return fmt.Sprintf("size %d, AUTH1 subset offset %d length %d",
		binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint16(b[4:]))
}

// Mailbox operations of EXCHANGE (package transaction, exchange.go: the
// project's encoding, docs/protocol.md §11 item 3).

func opHeader(b []byte) string {
	return fmt.Sprintf("%v mailbox, offset %d", dkey.Mailbox(b[0]), binary.BigEndian.Uint16(b[1:3]))
}

func readOpText(b []byte) string {
	if len(b) != 5 {
		return fmt.Sprintf("%d bytes, want 5", len(b))
	}
	return fmt.Sprintf("%s, length %d", opHeader(b), binary.BigEndian.Uint16(b[3:5]))
}

func writeOpText(b []byte) string {
	if len(b) < 4 {
		return fmt.Sprintf("%d bytes, want at least 4", len(b))
	}
	text := fmt.Sprintf("%s, %d bytes", opHeader(b), len(b)-3)
	if q := idText(b[3:]); q != "" {
		text += " " + q
	}
	return text
}

func fillOpText(b []byte) string {
	if len(b) != 6 {
		return fmt.Sprintf("%d bytes, want 6", len(b))
	}
	return fmt.Sprintf("%s, length %d, value %02X", opHeader(b), binary.BigEndian.Uint16(b[3:5]), b[5])
}

// The dictionaries of the Digital Key applet (docs/protocol.md §2.2, §4.2, §4.3,
// §4.8).

var dkSelect = dictionary{0x5C: {name: "applet versions", text: versionsText}}

var auth0Command = dictionary{
	0x5C: {name: "selected version", text: versionsText},
	0x87: {name: "vehicle ephemeral public key", text: pointText},
	0x4C: {name: "transaction identifier", text: sizeText(16)},
	0x4D: {name: "vehicle identifier", text: idText},
}

var auth0Response = dictionary{
	0x86: {name: "endpoint ephemeral public key", text: pointText},
	0x9D: {name: "fast cryptogram", text: sizeText(16)},
}

var auth1Command = dictionary{0x9E: {name: "vehicle signature", text: sizeText(dkey.SignatureSize)}}

var auth1Response = dictionary{
	0x4E: {name: "key slot"},
	0x9E: {name: "endpoint signature", text: sizeText(dkey.SignatureSize)},
	0x4A: {name: "confidential mailbox subset"},
	0x4B: {name: "private mailbox subset"},
}

var exchangeCommand = dictionary{
	0x87: {name: "read", text: readOpText},
	0x8A: {name: "write", text: writeOpText},
	0x95: {name: "fill", text: fillOpText},
}

var exchangeResponse = dictionary{0x53: {name: "read result"}}

// The dictionaries of the framework, owner pairing (docs/protocol.md §3.2, §3.5,
// §5.3, §5.4).

var frameworkSelect = dictionary{
	0x5A: {name: "framework versions", text: versionsText},
	0x5B: {name: "framework versions", text: versionsText},
	0x5C: {name: "applet versions", text: versionsText},
	0xD4: {name: "pairing state", text: pairingStateText},
}

var spakeRequest = dictionary{
	0x5B: {name: "framework versions", text: versionsText},
	0x5C: {name: "applet versions", text: versionsText},
	0x5E: {name: "Bluetooth versions"},
	0x7F50: {name: "scrypt parameters", inner: dictionary{
		0xC0: {name: "salt", text: sizeText(16)},
		0xC1: {name: "N", text: uintText},
		0xC2: {name: "r", text: uintText},
		0xC3: {name: "p", text: uintText},
	}},
	0xD6: {name: "vehicle brand", text: uintText},
}

var spakeResponse = dictionary{0x50: {name: "device share X", text: pointText}}

var spakeVerify = dictionary{
	0x52: {name: "vehicle share Y", text: pointText},
	0x57: {name: "vehicle evidence M1", text: sizeText(16)},
}

var spakeVerifyResponse = dictionary{0x58: {name: "device evidence M2", text: sizeText(16)}}

var writeData = dictionary{
	0x7F4A: {name: "Vehicle OEM root certificate", text: certText},
	0x7F4B: {name: "vehicle certificate", text: certText},
	0x7F4C: {name: "vehicle intermediate certificate", text: certText},
	0x7F4D: {name: "private mailbox mapping", inner: dictionary{
		0xC3: {name: "attestation offset", text: uintText},
		0xD0: {name: "signaling bitmap offset", text: uintText},
		0xD1: {name: "end", text: uintText},
		0xD2: {name: "immobilizer token length", text: uintText},
		0xD4: {name: "attestation length", text: uintText},
	}},
	0x7F4E: {name: "key configuration", inner: dictionary{
		0x4A: {name: "confidential mailbox", text: mailboxConfText},
		0x4B: {name: "private mailbox", text: mailboxConfText},
		0x4D: {name: "vehicle identifier", text: idText},
		0xD7: {name: "option group 1"},
		0xD8: {name: "option group 2"},
	}},
	0x5F5F: {name: "end of data"},
	0x5F5A: {name: "endpoint certificate confirmation (SHA-256)", text: sizeText(32)},
}

var getDataResponse = dictionary{
	0x7F20: {name: "endpoint certificate", text: certText},
	0x7F22: {name: "instance CA certificate", text: certText},
	0x7F24: {name: "Device OEM intermediate certificate", text: certText},
	0xD3:   {name: "key slot"},
}

// getDataTags decodes the plaintext of GET DATA: tags without lengths.
func getDataTags(b []byte) []Field {
	s := tlv.String(b)
	var out []Field
	for !s.Empty() {
		var t tlv.Tag
		if !s.ReadTag(&t) {
			return append(out, Field{Name: "malformed", Value: []byte(s), Text: "not a tag"})
		}
		name := "unknown tag"
		if info, ok := getDataResponse[t]; ok {
			name = "requests " + info.name
		}
		out = append(out, Field{Tag: t.String(), Name: name})
	}
	return out
}

// String returns a one-line summary of f: tag, name, text.
func (f Field) String() string {
	var b strings.Builder
	if f.Tag != "" {
		b.WriteString(f.Tag + " ")
	}
	b.WriteString(f.Name)
	if f.Text != "" {
		b.WriteString(" (" + f.Text + ")")
	}
	return b.String()
}
