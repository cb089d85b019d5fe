//go:build linux || freebsd || openbsd || netbsd || dragonfly

package pcsc

// pcscliteSystem reports that pcsc-lite, whose socket protocol the package
// speaks, is the PC/SC middleware of this system: Linux and the BSDs.
const pcscliteSystem = true
