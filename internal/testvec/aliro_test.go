package testvec

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"
	"slices"
	"testing"
)

// These tests prove that each Aliro vector was transcribed correctly and is
// self-consistent, using only the standard library: the key pairs match,
// Kdh, the salts and the HKDF outputs follow from the inputs, and each
// certificate's X.509 form parses.

func aliroLoad[T any](t *testing.T, load func() (*T, error)) *T {
	t.Helper()
	v, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func checkPair(t *testing.T, what string, scalar, pub []byte) {
	t.Helper()
	if scalar == nil || pub == nil {
		return
	}
	k, err := ecdh.P256().NewPrivateKey(scalar)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !bytes.Equal(k.PublicKey().Bytes(), pub) {
		t.Errorf("%s: public key does not match the private key", what)
	}
}

func aliroSalt(v *AliroTransaction, label string, groupX []byte, credentialX []byte) []byte {
	sel := v.SelectResponse
	// 6F 15 84 09 <AID> A5 ...: the A5 TLV runs from offset 13 to the SW.
	a5 := sel[13 : len(sel)-2]
	return slices.Concat(groupX, []byte(label), v.ReaderIdentifier, v.Interface, []byte{0x5c, 0x02}, v.ProtocolVersion,
		v.ReaderEphemeralPublicKey[1:33], v.TransactionIdentifier, v.CommandParameters, v.AuthenticationPolicy, a5, credentialX)
}

func TestAliroVectors(t *testing.T) {
	for _, load := range []func() (*AliroTransaction, error){AliroSpecStandard, AliroSpecFast, AliroSpecStandardCertificate, AliroNXPFast} {
		v := aliroLoad(t, load)
		t.Run(v.Name, func(t *testing.T) {
			checkPair(t, "reader", v.ReaderPrivateKey, v.ReaderPublicKey)
			checkPair(t, "credential", v.CredentialPrivateKey, v.CredentialPublicKey)
			checkPair(t, "reader ephemeral", v.ReaderEphemeralPrivateKey, v.ReaderEphemeralPublicKey)
			checkPair(t, "endpoint ephemeral", v.EndpointEphemeralPrivateKey, v.EndpointEphemeralPublicKey)
			groupX := v.ReaderGroupKey[1:33]
			if v.SaltUsesSubjectKey {
				groupX = v.ReaderPublicKey[1:33]
			}
			if v.Kdh != nil {
				re, _ := ecdh.P256().NewPrivateKey(v.ReaderEphemeralPrivateKey)
				ee, _ := ecdh.P256().NewPublicKey(v.EndpointEphemeralPublicKey)
				z, err := re.ECDH(ee)
				if err != nil || !bytes.Equal(z, v.SharedSecret) {
					t.Fatalf("Z = %x, %v", z, err)
				}
				kdh := sha256.Sum256(slices.Concat(z, []byte{0, 0, 0, 1}, v.TransactionIdentifier))
				if !bytes.Equal(kdh[:], v.Kdh) {
					t.Errorf("Kdh = %x", kdh)
				}
				salt := aliroSalt(v, "Volatile****", groupX, nil)
				if !bytes.Equal(salt, v.SaltVolatile) {
					t.Errorf("salt_volatile = %x", salt)
				}
				okm, _ := hkdf.Key(sha256.New, v.Kdh, salt, string(v.Info), 160)
				if !bytes.Equal(okm, slices.Concat(v.ExpeditedSKReader, v.ExpeditedSKDevice, v.StepUpSK, v.BleSK, v.URSK)) {
					t.Errorf("standard key material = %x", okm)
				}
				sp := aliroSalt(v, "Persistent**", groupX, v.CredentialPublicKey[1:33])
				kp, _ := hkdf.Key(sha256.New, v.Kdh, sp, string(v.Info), 32)
				if !bytes.Equal(sp, v.SaltPersistent) || !bytes.Equal(kp, v.Persistent) {
					t.Errorf("Kpersistent = %x", kp)
				}
			}
			if v.Cryptogram != nil {
				salt := aliroSalt(v, "VolatileFast", groupX, v.CredentialPublicKey[1:33])
				if v.SaltFast != nil && !bytes.Equal(salt, v.SaltFast) {
					t.Errorf("salt_fast = %x", salt)
				}
				okm, _ := hkdf.Key(sha256.New, v.Persistent, salt, string(v.EndpointEphemeralPublicKey[1:33]), 160)
				if !bytes.Equal(okm[32:64], v.ExpeditedSKReader) || !bytes.Equal(okm[64:96], v.ExpeditedSKDevice) || !bytes.Equal(okm[96:128], v.BleSK) {
					t.Errorf("fast key material = %x", okm)
				}
			}
		})
	}
}

func TestAliroCertificateVectors(t *testing.T) {
	v := aliroLoad(t, AliroSpecCertificates)
	if len(v.Demos) != 4 {
		t.Fatalf("%d demos", len(v.Demos))
	}
	for _, d := range v.Demos {
		c, err := x509.ParseCertificate(d.X509)
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(d.IssuerPrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		issuer := &priv.(*ecdsa.PrivateKey).PublicKey
		if raw, _ := issuer.Bytes(); !bytes.Equal(raw, d.IssuerPublicKey) {
			t.Errorf("%s: issuer key pair does not match", d.Name)
		}
		digest := sha256.Sum256(c.RawTBSCertificate)
		if !ecdsa.VerifyASN1(issuer, digest[:], c.Signature) {
			t.Errorf("%s: the issuer did not sign the certificate", d.Name)
		}
		if !bytes.Contains(d.X509, d.ReaderPublicKey) || !bytes.Contains(d.Compressed, d.ReaderPublicKey) {
			t.Errorf("%s: reader key missing", d.Name)
		}
	}
}

func TestAliroXCheckVector(t *testing.T) {
	x := aliroLoad(t, AliroXCheck)
	for _, v := range []*AliroTransaction{&x.Standard, &x.Fast} {
		checkPair(t, "reader", v.ReaderPrivateKey, v.ReaderPublicKey)
		checkPair(t, "group", v.ReaderGroupPrivateKey, v.ReaderGroupKey)
		checkPair(t, "credential", v.CredentialPrivateKey, v.CredentialPublicKey)
		checkPair(t, "reader ephemeral", v.ReaderEphemeralPrivateKey, v.ReaderEphemeralPublicKey)
		checkPair(t, "endpoint ephemeral", v.EndpointEphemeralPrivateKey, v.EndpointEphemeralPublicKey)
	}
	if len(x.Standard.Exchanges) != 2 || len(x.Fast.Exchanges) != 1 || x.Fast.Interface[0] != 0xC3 {
		t.Errorf("fixed vector shape changed")
	}
}
