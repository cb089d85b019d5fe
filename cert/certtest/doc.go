// Package certtest issues a Digital Key PKI in memory, for tests, examples
// and test benches: a Device OEM root that certifies the instance CA of each
// applet instance, and a Vehicle OEM root that certifies vehicles (the
// chains of docs/protocol.md §10, without the optional intermediates).
//
// What owner pairing and sharing need from a PKI is a handful of
// certificates and keys wired into device.Config, vehicle.PairingConfig and
// sharing.OwnerConfig. A PKI gives them in one call each:
//
//	pki, _ := certtest.New()
//	caCert, caKey, _ := pki.InstanceCA("phone")           // device.InstanceCA{Certificate: caCert, Key: caKey}
//	vehicleCert, vehicleKey, _ := pki.Vehicle("VIN00001") // vehicle.Config.Key, PairingConfig.Certificates
//	roots := pki.DeviceRoots()                            // PairingConfig.DeviceRoots, cert.Config.DeviceRoots
//
// Every key is a dkey.SoftwareKey in process memory, drawn from crypto/rand:
// a PKI is for tests and benches, never for keys a vehicle or a phone
// relies on. Benches that keep a PKI in files, or its keys in an HSM, use
// dkey pki init. The issuance itself is package cert's.
package certtest
