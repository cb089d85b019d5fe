// Package keyuri opens the P-256 keys of vehicles, certificate authorities
// and test benches where they are kept, named by a key URI: a PEM file on
// disk, or a key in an HSM or smart card through PKCS#11. [Open] gives a
// [Key], a crypto.Signer that transaction.VehicleConfig.Key, the issuance
// functions of package cert and pairing's instance CA take as they are;
// [Create] makes a new key at a URI.
//
//	softkms:path=/etc/vehicle/key.pem        a PEM private key file (also softkms:/etc/...)
//	pkcs11:module-path=/usr/lib/softhsm/libsofthsm2.so;token=bench;id=01;object=vehicle?pin-source=/run/pin
//
// The URIs are those of go.step.sm/crypto/kms (RFC 7512 for PKCS#11:
// token, serial or slot-id name the token, id and object the key,
// pin-value or pin-source the PIN, module-path the PKCS#11 module), and
// this package is a thin layer over that library's softkms and pkcs11
// backends. The other backends it offers need cloud credentials (AWS,
// Google Cloud, Azure), another operating system (macOS keychain, Windows
// CAPI) or hardware this project does not test (TPM, YubiKey PIV); the
// ssh-agent backend signs SSH messages rather than SHA-256 digests, so it
// cannot sign the protocol's AUTH1 data or certificates. None is offered.
//
// # Dependencies
//
// This package is the only one of the module that imports
// go.step.sm/crypto/kms (deps_test.go enforces it). The library packages
// (transaction, pairing, cert, vehicle, device ...) never import it: they
// take a crypto.Signer, so a program that keeps its keys in an HSM imports
// keyuri itself, and the SDK's own dependency set stays small.
//
// # PKCS#11 and cgo
//
// The PKCS#11 backend loads the vendor's module with dlopen, through cgo.
// The default build of the SDK has no cgo, so PKCS#11 support is compiled
// in only with the build tag pkcs11 and cgo enabled:
//
//	CGO_ENABLED=1 go build -tags pkcs11 ./cmd/dkey
//
// Without it, a pkcs11: URI returns [ErrNoPKCS11]. The tests of the
// PKCS#11 backend run against SoftHSM2 (scripts/softhsm/run.sh initialises
// a token in a temporary directory and names it in OPENCARKEY_PKCS11_*
// environment variables): a standard transaction whose vehicle key lives
// in the token, and a PKI whose CA keys live there.
//
// # Where the project chose
//
//   - Keys are P-256 only: Open refuses any other key with [ErrNotP256],
//     since every signature and key agreement of the protocol is P-256.
//   - ECDH: a PEM key can also agree keys ([Key.KeyExchanger]); a PKCS#11
//     key cannot through this library (it exposes signing and RSA
//     decryption only) and returns [ErrNoKeyExchange]. The vehicle's
//     long-term key only signs (docs/protocol.md §4.3), so a vehicle works with
//     either.
//   - Create writes a softkms key as an unencrypted PKCS#8 PEM file, mode
//     0600, and never overwrites a file; it generates a PKCS#11 key in the
//     token, not extractable, and needs both id and object in the URI.
//   - A Key's String and URI never show a pin-value.
package keyuri
