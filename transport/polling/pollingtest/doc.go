// Package pollingtest simulates what an NFC controller's RF field holds for
// tests of the controller drivers (transport/pn532, transport/nci) and their
// simulated controllers (pn532test, ncitest): a [Field] with at most one
// [Phone], whose applets a [transport.Card] plays (a device.Applet), and
// pseudo-terminals ([OpenPTY]) over which the simulations speak the
// controllers' real byte protocols.
//
// A Phone in express mode models the behaviour that makes Apple's Enhanced
// Contactless Polling necessary (docs/protocol.md §2.6): it answers polling only
// after it has seen, since the field came on, a well-formed ECP frame for
// one of its passes. Switching the field off makes it forget the frame and
// resets its card, as losing power resets a phone's NFC session. LeaveAt
// pulls the phone away in the middle of an exchange, before or after the
// card processed the command.
//
// What a phone answers in anticollision (DefaultInfo) is the project's
// choice, not a recording of a real phone.
package pollingtest
