// Package cert implements the X.509 profiles of the Digital Key PKI
// (docs/protocol.md §10): the CCC certificate extensions, verification of the
// device and vehicle certificate chains, and issuance of each certificate
// type for tests, examples and test benches.
//
// # Chains
//
// Two chains meet at owner pairing (docs/protocol.md §1, §3.7, §10.1):
//
//	Device side:  Device OEM root → [F] Device OEM intermediate (optional)
//	                → [E] instance CA (one per applet instance, key in the SE)
//	                → [H] endpoint (one per key; leaf)
//	Vehicle side: Vehicle OEM root → [J]/[M] Vehicle OEM CA (optional)
//	                → [8] vehicle intermediate (optional)
//	                → [K] vehicle (vehicle.PK; leaf)
//
// The vehicle verifies the endpoint chain up to a Device OEM root it trusts
// ([Config.VerifyEndpoint]) and checks that the endpoint certificate binds
// its own vehicle identifier and public key; the device verifies the vehicle
// chain up to the Vehicle OEM root that pairing delivered
// ([Config.VerifyVehicle]). The owner device verifies a friend's
// key-creation chain the same way when it shares a key (docs/protocol.md §6.1).
//
// # Extensions
//
// Each certificate type but the roots carries one private extension,
// 1.3.6.1.4.1.41577.5.<n> (41577 is the CCC enterprise arc), marked
// critical: [Kind] lists them. Their ASN.1 is public only through xipki's
// certificate profiles, as docs/protocol.md §10.2 transcribes them:
// [SimpleExtension] for most types, [InstanceCAExtension] for [E] and
// [EndpointExtension] for [H]. The codecs use cryptobyte and accept strict
// DER only: minimal lengths and integers, fields in order, sizes within the
// profile's ranges, no trailing bytes, every SubjectPublicKeyInfo an
// uncompressed P-256 point.
//
// crypto/x509 does not know these extensions, so it lists them in
// UnhandledCriticalExtensions and would refuse the chain. Verification
// removes them from that list on copies of the certificates, rejects every
// other unhandled critical extension, lets crypto/x509 build and check the
// path, then parses at each position of the built chain the one extension
// that the position requires and rejects any other CCC extension there.
//
// # Choices where the specification is not public
//
//   - The mailbox sizes [0] and [1] of the endpoint extension: the public
//     sources do not say EXPLICIT or IMPLICIT. Parsing accepts both;
//     encoding writes EXPLICIT, as xipki does.
//   - The base profile (docs/protocol.md §10.3, itself inferred): X.509 v3, ECDSA
//     P-256 keys and ecdsa-with-SHA256 signatures only; CA certificates have
//     basicConstraints CA=TRUE and keyCertSign; leaves are not CAs and have
//     digitalSignature. Extended key usage is not checked (CCC certificates
//     carry none).
//   - Path limits: a presented chain holds the leaf and at most
//     [MaxIntermediates] (2) intermediates. The issuance functions set path
//     length constraints to match: 2 on roots, 1 on [F] and [J], 0 on [E]
//     and [8].
//   - vehicle_identifier is 8 bytes, as the extension's ASN.1 fixes it; Home
//     Key's 16-byte reader identifiers have no endpoint certificate here.
//   - Issuance: 16-byte random positive serial numbers, a subject key
//     identifier on CA certificates and an authority key identifier on
//     their children (crypto/x509 defaults), basic constraints omitted on
//     leaves. The certificates come out at 380 to 520 bytes, within the
//     400–600 bytes of SE storage that docs/protocol.md §10.3 gives.
//
// Issuance uses crypto/x509.CreateCertificate with any [crypto.Signer]
// holding a P-256 key, such as a [dkey.SoftwareKey] or a key in a secure
// element or HSM.
package cert
