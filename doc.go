// Package sdk is the root of the opencarkey SDK, an open implementation of
// the Car Connectivity Consortium (CCC) Digital Key protocol. It holds no
// code: the packages below it do the work, and the root test enforces the
// dependency table of the design (deps_test.go).
//
// Start with package vehicle (the reader side), package device (the applet
// side) and the runnable programs under examples/.
package sdk
