//go:build !pkcs11 || !cgo

package keyuri

import (
	"context"

	"go.step.sm/crypto/kms/uri"
)

// pkcs11Backend, without PKCS#11 support, refuses pkcs11: URIs.
var pkcs11Backend backend = noPKCS11{}

// PKCS11 reports whether this program was built with PKCS#11 support.
const PKCS11 = false

type noPKCS11 struct{}

func (noPKCS11) open(context.Context, *uri.URI, string) (*Key, error)   { return nil, ErrNoPKCS11 }
func (noPKCS11) create(context.Context, *uri.URI, string) (*Key, error) { return nil, ErrNoPKCS11 }
