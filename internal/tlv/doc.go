// Package tlv encodes and decodes BER-TLV data objects as ISO/IEC 7816-4
// (section 5.2.2) uses them, in the strict, canonical subset that the
// Digital Key wire formats need: the SELECT responses (tag 5C), the SPAKE2+
// commands (5B, 5C, 7F50{C0 C1 C2 C3}, 50, 52, 57, 58), WRITE DATA and
// GET DATA (7F4A to 7F4E, 5F5F, 7F20...), AUTH0 and AUTH1 and the signed
// transcripts built from BER-TLV (docs/protocol.md §0, §2, §3.2, §3.5, §4).
//
// golang.org/x/crypto/cryptobyte reads DER, whose tags it limits to one
// byte; the protocol needs tags of up to three bytes (7F4D, 5F5F), hence
// this package, which keeps cryptobyte's shape.
//
// # Sections
//
// Building is append-style: Tag.Append, AppendLength, AppendTLV, the
// AppendTLVUintN helpers and AppendConstructed, which reserves the header of
// a constructed data object and fixes its length once the value is known.
// None allocates when the destination has room.
//
// Reading is cryptobyte-style: String's methods consume one data object at
// a time, return false on any fault and chain with &&. Under them, Next and
// Single return a *SyntaxError naming the fault (one of the sentinel errors)
// and its offset. Validate walks a whole input, constructed values included,
// within Limits on value length, nesting depth and element count; Parse
// does the same and returns an Element tree for tests and tools.
//
// # The encoding (ISO/IEC 7816-4 5.2.2)
//
// Tag field (5.2.2.1): bits 8-7 of the first byte give the class, bit 6 says
// whether the data object is constructed (its value is a sequence of data
// objects); low five bits 11111 mean more bytes follow, and in each
// following byte bit 8 set means one more. The first byte is never 00 or FF;
// in tags of two or more bytes the second byte is never 00–1E or 80.
//
// Length field (5.2.2.2): one byte 00–7F, or 81 xx, 82 xx xx (and 83, 84
// for longer values). The indefinite form 80 of BER is not part of
// ISO/IEC 7816-4.
//
// # Where the project chose
//
// The CCC specification is not public; the public implementations
// (docs/protocol.md §0) use only the forms above. The project made these choices:
//
//   - Tags have at most three bytes, as in ISO/IEC 7816-4. The protocol uses
//     one and two.
//   - Lengths must be in their shortest form (81 only for 80–FF, 82 only for
//     0100–FFFF). ISO/IEC 7816-4 also lets 81 encode 00–7F; the project
//     rejects that because AUTH1 signs the BER-TLV encoding of its fields
//     (docs/protocol.md §4.3) and the receiver re-encodes them, so each value
//     must have exactly one encoding; it also makes parse then encode the
//     identity, which the fuzz target checks.
//   - Lengths above 65535 (83 and 84 forms) are rejected as too long: no
//     APDU data field can carry them (MaxLength). The builders panic on
//     them, so callers that place outside data in a TLV bound it first.
//   - The 00 and FF padding bytes that ISO/IEC 7816-4 tolerates before,
//     between and after data objects are rejected (as invalid tags): the
//     protocol's messages are exact, and tolerance there would let two
//     byte strings carry the same message.
//   - Validate descends into every constructed data object, as the encoding
//     says it holds data objects. Certificates sent as constructed values
//     (7F4A, 7F20...) are DER, which parses as BER-TLV, but may need larger
//     Limits than the defaults.
package tlv
