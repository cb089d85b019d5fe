// Package redacttest checks, in tests, that a value holding secrets redacts
// itself when it is formatted (issue 12, finding 7): whatever the verb, fmt
// must print none of the secret's bytes, in any encoding fmt could give
// them.
//
// A type redacts itself by implementing fmt.Formatter (which fmt prefers for
// every verb, %#v included), fmt.Stringer and fmt.GoStringer with value
// receivers, so that a value and a pointer are both covered; [Leak]
// requires the three. A struct field of such a type is redacted only when
// the field is exported: fmt cannot call methods through an unexported
// field and prints it raw, which is why every type that holds a secret in
// any field, directly or nested, redacts itself too.
//
// What Leak looks for, in every output: each run of [Window] bytes of each
// secret (except runs of one repeated byte, such as the zero tail of a key
// array, which stand for nothing in particular) raw, as UTF-8 runes (%c, joined or spaced), in hexadecimal of
// either case (%x, % x, %X), and as consecutive numbers in base 2, 8, 10 or
// 16 whatever the separators and prefixes (%v and %d of byte arrays, %o,
// %O, %b, %#v, %q, %U); and each whole secret in base64, standard or URL,
// padded or not.
//
// Two verbs are left out because no type can redact itself there: fmt
// prints the raw value, fields included, without calling any method, for
// %p of a value that is not a pointer and for %w of an argument that is not
// an error (or of any argument outside fmt.Errorf). Both are misuses that
// go vet's printf check reports, and the project runs go vet. Leak applies
// %p to pointers, where fmt prints the address and never the value (it
// calls no method for %p), and does not search that output: the hex
// digits of an address are not a secret, and four of them can spell four
// bytes of a random secret by chance.
package redacttest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Window is the length of the runs of secret bytes Leak looks for: long
// enough that the text of a redacted value does not hold one by chance,
// short enough to find a part of a secret.
const Window = 4

// Verbs are the formats Leak applies: every verb of package fmt that prints
// a value, with the flags that change how bytes are shown, and %p for
// pointers (see the package documentation for %p of values and %w).
var Verbs = []string{
	"%v", "%+v", "%#v", "%s", "%q", "%#q", "%x", "%X", "% x", "% X", "%#x",
	"%d", "%o", "%O", "%#o", "%b", "%c", "%U", "%#U", "%e", "%f", "%g", "%t",
	"%p", "%10v", "%-40x", "%08d", "%!", "%z",
}

// Leak formats v with every verb of [Verbs], with fmt.Sprint and
// fmt.Sprintln, and through its String and GoString methods, and returns
// an error naming the first output that shows a part of one of secrets,
// or that v lacks one of fmt.Formatter, fmt.Stringer, fmt.GoStringer. It
// returns nil when v redacts itself. Secrets shorter than Window are
// looked for whole.
func Leak(v any, secrets ...[]byte) error {
	_, ok1 := v.(fmt.Stringer)
	_, ok2 := v.(fmt.GoStringer)
	_, ok3 := v.(fmt.Formatter)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("redacttest: %T does not redact itself: Stringer %v, GoStringer %v, Formatter %v", v, ok1, ok2, ok3)
	}
	return Shown(v, secrets...)
}

// Shown is Leak without the methods: for a value that holds a secret only
// in an exported field whose value redacts itself (a configuration holding
// a crypto.Signer that does), it formats v as Leak does and returns an
// error naming the first output that shows a part of one of secrets, nil
// when none does. A pointer to secret bytes is not enough: under a verb
// that does not apply to pointers (%s, %q, %c ...), fmt prints what the
// pointer points to.
func Shown(v any, secrets ...[]byte) error {
	outputs := []struct{ how, text string }{
		{"Sprint", fmt.Sprint(v)},
		{"Sprintln", fmt.Sprintln(v)},
	}
	if s, ok := v.(fmt.Stringer); ok {
		outputs = append(outputs, struct{ how, text string }{"String()", s.String()})
	}
	if g, ok := v.(fmt.GoStringer); ok {
		outputs = append(outputs, struct{ how, text string }{"GoString()", g.GoString()})
	}
	pointer := reflect.ValueOf(v).Kind() == reflect.Pointer
	for _, verb := range Verbs {
		if verb == "%p" {
			if pointer {
				_ = fmt.Sprintf(verb, v) // the address; formatted, not searched
			}
			continue
		}
		outputs = append(outputs, struct{ how, text string }{verb, fmt.Sprintf(verb, v)})
	}
	for _, o := range outputs {
		for i, secret := range secrets {
			if where := find(o.text, secret); where != "" {
				return fmt.Errorf("redacttest: %T formatted with %s shows secret %d (%s): %q", v, o.how, i, where, o.text)
			}
		}
	}
	return nil
}

// Check reports through t every way in which v fails [Leak].
func Check(t testing.TB, v any, secrets ...[]byte) {
	t.Helper()
	if err := Leak(v, secrets...); err != nil {
		t.Error(err)
	}
}

// find returns how text shows a part of secret, or "".
func find(text string, secret []byte) string {
	if len(secret) == 0 {
		return ""
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if len(secret) >= Window && strings.Contains(text, enc.EncodeToString(secret)) {
			return "base64"
		}
	}
	n := min(Window, len(secret))
	for i := 0; i+n <= len(secret); i++ {
		w := secret[i : i+n]
		if uniform(w) {
			continue
		}
		runes := make([]string, len(w))
		for j, b := range w {
			runes[j] = string(rune(b))
		}
		switch {
		case strings.Contains(text, string(w)):
			return "raw"
		case strings.Contains(text, strings.Join(runes, "")), strings.Contains(text, strings.Join(runes, " ")):
			return "runes"
		case strings.Contains(strings.ToLower(text), hex.EncodeToString(w)):
			return "hex"
		}
	}
	for _, base := range []int{2, 8, 10, 16} {
		if containsRun(numbers(text, base), secret, n) {
			return "base " + strconv.Itoa(base) + " numbers"
		}
	}
	return ""
}

// numbers returns the byte values text writes in base, in order: each
// maximal run of the base's digits, after the base's prefixes are dropped
// (0x, \x and U+ for 16, 0o for 8, 0b for 2), that stands for a value
// below 256. Every character that is not a digit separates them; a run too
// large to be a byte is a -1 that breaks a sequence.
func numbers(text string, base int) []int {
	t := strings.ToLower(text)
	prefixes := map[int][]string{16: {"0x", `\x`, "u+"}, 8: {"0o"}, 2: {"0b"}}
	for _, p := range prefixes[base] {
		t = strings.ReplaceAll(t, p, " ")
	}
	digit := func(c byte) bool {
		switch {
		case c >= '0' && c <= '9':
			return int(c-'0') < base
		case c >= 'a' && c <= 'f':
			return base == 16
		}
		return false
	}
	var out []int
	for i := 0; i < len(t); {
		if !digit(t[i]) {
			i++
			continue
		}
		j := i
		for j < len(t) && digit(t[j]) {
			j++
		}
		v, err := strconv.ParseUint(t[i:j], base, 64)
		if err != nil || v > 255 {
			out = append(out, -1)
		} else {
			out = append(out, int(v))
		}
		i = j
	}
	return out
}

// uniform reports whether w repeats one byte: such a run is not looked for.
func uniform(w []byte) bool { return len(w) > 1 && bytes.Count(w, w[:1]) == len(w) }

// containsRun reports whether some n consecutive bytes of secret, not all
// the same, appear as n consecutive values of nums.
func containsRun(nums []int, secret []byte, n int) bool {
	for i := 0; i+n <= len(secret); i++ {
		if uniform(secret[i : i+n]) {
			continue
		}
	next:
		for j := 0; j+n <= len(nums); j++ {
			for k := range n {
				if nums[j+k] != int(secret[i+k]) {
					continue next
				}
			}
			return true
		}
	}
	return false
}
