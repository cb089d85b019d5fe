package redacttest

import "fmt"

// A type that redacts itself passes; one that prints a part of its secret
// under some verb does not.
func ExampleLeak() {
	fmt.Println(Leak(newRedacted(), secret))
	fmt.Println(Leak(slice{Key: secret}, secret) != nil)
	// Output:
	// <nil>
	// true
}
