// Package ncitest simulates an NFC Forum NCI controller (a PN7160-like
// NFCC) for tests: a [Controller] speaks NCI packets over a byte stream (a
// pseudo-terminal's master side: NCI over UART) or over a simulated I2C bus
// with its interrupt line ([Controller.I2C]), with a phone in its RF field
// played by a [pollingtest.Field]. The driver under test (package nci) uses
// its real link code against it.
//
// The simulation covers what the driver uses: CORE_RESET in its NCI 1.0 and
// 2.0 forms (with CORE_RESET_NTF), CORE_INIT, NXP's proprietary activation
// 2F 02, CORE_SET_CONFIG, RF_DISCOVER_MAP, RF_DISCOVER with a discovery loop
// whose period is TOTAL_DURATION, RF_INTF_ACTIVATED_NTF for ISO-DEP,
// data packets with segmentation and credits (CORE_CONN_CREDITS_NTF),
// RF_ISO_DEP_NAK_PRESENCE, RF_DEACTIVATE with its notification, and an ECP
// command configured like the driver's (Config.ECP): the frame it carries
// goes on air at the start of every discovery period.
//
// A phone that leaves during an exchange is reported with
// CORE_INTERFACE_ERROR_NTF (RF_TIMEOUT_ERROR), or with RF_DEACTIVATE_NTF
// (RF link loss) under Faults.LeaveWithDeactivate.
//
// # Simplifications
//
// One phone, NFC-A only, no listen mode; the ECP command is whatever the
// test configures (the PN7161's real one is not public); manufacturer
// information defaults to the project's choice below.
package ncitest
