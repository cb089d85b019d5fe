// Package serialio reads serial lines under a context: the NFC controller
// drivers (transport/pn532, and transport/nci over a UART) wait for bytes
// with a deadline and give up when their context ends, instead of hanging
// on a controller that stopped answering. It holds the project's one use of
// go.bug.st/serial.
package serialio
