package main

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyuri"
)

// testRecords returns a valid vehicle record and a valid device record,
// with certificates of a fixed PKI.
func testRecords(t testing.TB) (vehicleRec, deviceRec *benchRecord) {
	t.Helper()
	key := func() *dkey.SoftwareKey {
		k, err := dkey.GenerateSoftwareKey()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := func(cn string) cert.Template {
		return cert.Template{Subject: pkix.Name{CommonName: cn}, NotBefore: start, NotAfter: start.AddDate(1, 0, 0)}
	}
	drk, vrk, cak, vk := key(), key(), key(), key()
	dr, err := cert.NewDeviceRoot(tmpl("Device OEM Root"), drk)
	if err != nil {
		t.Fatal(err)
	}
	vr, err := cert.NewVehicleRoot(tmpl("Vehicle OEM Root"), vrk)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := cert.NewInstanceCA(tmpl("Instance CA"), &cert.InstanceCAExtension{Version: 1, AppletVersion: [4]byte{1, 0, 0, 0}}, cak.PublicKey(), dr, drk)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := cert.NewVehicle(tmpl("Vehicle"), vk.PublicKey(), vr, vrk)
	if err != nil {
		t.Fatal(err)
	}
	vehicleRec = &benchRecord{
		Version: recordVersion, Role: roleVehicle, Profile: "CCC", VehicleID: hex.EncodeToString([]byte("DKEY-VIN")),
		Key: "softkms:path=/pki/vehicle.key", Certificates: [][]byte{vc.Raw}, VehicleRoot: vr.Raw, DeviceRoots: [][]byte{dr.Raw},
	}
	deviceRec = &benchRecord{
		Version: recordVersion, Role: roleDevice, Profile: "CCC",
		InstanceCA: ca.Raw, InstanceCAKey: "pkcs11:token=bench;object=ca?pin-value=redacted", DeviceRoots: [][]byte{dr.Raw},
	}
	return vehicleRec, deviceRec
}

func mustMarshal(t testing.TB, r *benchRecord) []byte {
	t.Helper()
	b, err := r.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecordRoundTrip(t *testing.T) {
	v, d := testRecords(t)
	for _, r := range []*benchRecord{v, d} {
		b := mustMarshal(t, r)
		got, err := parseRecord(b)
		if err != nil {
			t.Fatalf("parseRecord(%s) = %v", b, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip of the %s record: %+v, want %+v", r.Role, got, r)
		}
		// No strict prefix parses.
		for i := range len(b) {
			if _, err := parseRecord(b[:i]); err == nil {
				t.Fatalf("the %d-byte prefix of a %s record parses", i, r.Role)
			}
		}
	}
}

func TestRecordErrors(t *testing.T) {
	v, d := testRecords(t)
	change := func(r *benchRecord, f func(r *benchRecord)) []byte {
		c := *r
		f(&c)
		return mustMarshal(t, &c)
	}
	valid := mustMarshal(t, v)
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"not JSON", []byte("dkey")},
		{"an array", []byte("[]")},
		{"two records", append(append([]byte(nil), valid...), valid...)},
		{"data after", append(append([]byte(nil), valid...), " 1"...)},
		{"unknown field", bytes.Replace(valid, []byte(`{"version"`), []byte(`{"extra":1,"version"`), 1)},
		{"oversize", append(append([]byte(nil), valid...), bytes.Repeat([]byte(" "), maxRecord)...)},
		{"version 2", change(v, func(r *benchRecord) { r.Version = 2 })},
		{"Home Key", change(v, func(r *benchRecord) { r.Profile = "HomeKey" })},
		{"unknown role", change(v, func(r *benchRecord) { r.Role = "server" })},
		{"vehicle identifier not hex", change(v, func(r *benchRecord) { r.VehicleID = "DKEY-VIN" })},
		{"vehicle identifier of 7 bytes", change(v, func(r *benchRecord) { r.VehicleID = "01020304050607" })},
		{"vehicle without key", change(v, func(r *benchRecord) { r.Key = "" })},
		{"vehicle without certificates", change(v, func(r *benchRecord) { r.Certificates = nil })},
		{"vehicle without root", change(v, func(r *benchRecord) { r.VehicleRoot = nil })},
		{"vehicle with an instance CA", change(v, func(r *benchRecord) { r.InstanceCA = d.InstanceCA })},
		{"vehicle certificate damaged", change(v, func(r *benchRecord) { r.Certificates = [][]byte{r.Certificates[0][:100]} })},
		{"no device roots", change(v, func(r *benchRecord) { r.DeviceRoots = nil })},
		{"too many device roots", change(v, func(r *benchRecord) { r.DeviceRoots = slicesOf(make([][]byte, maxChain+1)) })},
		{"device root damaged", change(d, func(r *benchRecord) { r.DeviceRoots = [][]byte{{0x30, 0x03, 0x02, 0x01, 0x01}} })},
		{"device without instance CA key", change(d, func(r *benchRecord) { r.InstanceCAKey = "" })},
		{"device without instance CA", change(d, func(r *benchRecord) { r.InstanceCA = nil })},
		{"device with a vehicle identifier", change(d, func(r *benchRecord) { r.VehicleID = v.VehicleID })},
		{"device with a vehicle key", change(d, func(r *benchRecord) { r.Key = v.Key })},
		{"a PIN kept", change(d, func(r *benchRecord) { r.InstanceCAKey = "pkcs11:token=bench;object=ca?pin-value=1234" })},
		{"a PIN kept by a vehicle", change(v, func(r *benchRecord) { r.Key = "pkcs11:object=v?pin-value=1234&x=1" })},
	} {
		if _, err := parseRecord(tt.b); !errors.Is(err, errRecord) {
			t.Errorf("%s: parseRecord = %v, want errRecord", tt.name, err)
		}
	}
}

// FuzzRecord feeds parseRecord arbitrary bytes: no panic, and a record
// that parses marshals to bytes that parse to the same record, and is
// marshalled again to the same bytes.
func FuzzRecord(f *testing.F) {
	v, d := testRecords(f)
	for _, r := range []*benchRecord{v, d} {
		b := mustMarshal(f, r)
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(bytes.ReplaceAll(b, []byte(`"CCC"`), []byte(`"HomeKey"`)))
	}
	f.Add([]byte(`{"version":1,"role":"vehicle","profile":"CCC"}`))
	f.Add([]byte(`{"version":1,"role":"device","profile":"CCC","device_roots":["AA=="]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRecord(b)
		if err != nil {
			if !errors.Is(err, errRecord) {
				t.Fatalf("parseRecord error %v is not errRecord", err)
			}
			return
		}
		enc, err := r.marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseRecord(enc)
		if err != nil {
			t.Fatalf("a record that parsed does not parse after marshalling: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v, want %+v", again, r)
		}
		if enc2 := mustMarshal(t, again); !bytes.Equal(enc, enc2) {
			t.Fatalf("marshalling is not stable:\n%s\n%s", enc, enc2)
		}
		if keyuri.Redact(r.Key) != r.Key || keyuri.Redact(r.InstanceCAKey) != r.InstanceCAKey {
			t.Fatalf("a record with a PIN parsed: %q, %q", r.Key, r.InstanceCAKey)
		}
	})
}
