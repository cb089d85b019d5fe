// Package cborstrict holds the CBOR modes of the formats the project defines
// itself (docs/design.md: signed statements as COSE_Sign1 in package attest,
// sharing messages and persisted state in package sharing), so that every
// one of them encodes and decodes the same strict way:
//
//   - out: Core Deterministic Encoding (RFC 8949 §4.2.1), nil containers as
//     empty ones, so that one value has one encoding;
//   - in: duplicate map keys, indefinite lengths, unknown fields, NaN and
//     infinities, invalid UTF-8 and the Go-specific unmarshalers refused;
//     nesting, array and map sizes bounded.
//
// Decoding does not check that the input was deterministic; callers that
// need that re-encode and compare, as attest does.
package cborstrict

import "github.com/fxamacker/cbor/v2"

// Bounds of every decoding mode: fxamacker/cbor's minimums, far above what
// any of the project's formats needs.
const (
	MaxNestedLevels = 4
	MaxMapPairs     = 16
)

// EncMode returns the encoding mode. It panics only if the constant options
// are invalid, which the package test rules out.
func EncMode() cbor.EncMode {
	opts := cbor.CoreDetEncOptions()
	opts.NilContainers = cbor.NilContainerAsEmpty
	opts.TagsMd = cbor.TagsAllowed
	em, err := opts.EncMode()
	if err != nil {
		panic("cborstrict: invalid CBOR encoding options: " + err.Error())
	}
	return em
}

// DecMode returns a strict decoding mode that accepts tags as tags says and
// arrays of at most maxArray elements (at least 16, fxamacker/cbor's
// minimum). It panics only on arguments outside those bounds, which are
// constants in every caller.
func DecMode(tags cbor.TagsMode, maxArray int) cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            tags,
		MaxNestedLevels:   MaxNestedLevels,
		MaxArrayElements:  maxArray,
		MaxMapPairs:       MaxMapPairs,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
		NaN:               cbor.NaNDecodeForbidden,
		Inf:               cbor.InfDecodeForbidden,
		BinaryUnmarshaler: cbor.BinaryUnmarshalerNone,
		TextUnmarshaler:   cbor.TextUnmarshalerNone,
	}.DecMode()
	if err != nil {
		panic("cborstrict: invalid CBOR decoding options: " + err.Error())
	}
	return dm
}
