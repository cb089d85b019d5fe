//go:build !(linux || freebsd || openbsd || netbsd || dragonfly)

package pcsc

// pcscliteSystem reports that pcsc-lite is not this system's PC/SC
// middleware: macOS has Apple's CryptoTokenKit PC/SC framework and Windows
// WinSCard, neither of which speaks pcscd's socket protocol, so Establish
// returns ErrUnsupportedPlatform instead of failing to find a socket.
const pcscliteSystem = false
