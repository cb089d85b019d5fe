package transaction

import "github.com/opencarkey/sdk/internal/keylog"

// The key log of an Aliro session (see "Key log" in the package
// documentation): both sides write the same lines, under the transaction
// identifier, as soon as the keys exist. A write error is ignored: a key
// log must not change a transaction's outcome.

// logStandardKeys writes ExpeditedSKReader, ExpeditedSKDevice, StepUpSK
// and, over Bluetooth LE, URSK of the standard key material.
func (c *aliroCore) logStandardKeys() {
	if c.keyLog == nil {
		return
	}
	id := c.t.txID[:]
	b := make([]byte, 0, 512)
	b = keylog.AppendLine(b, keylog.AliroSKReader, id, c.keys.okm[aliroOffReader:aliroOffReader+aliroKeySize])
	b = keylog.AppendLine(b, keylog.AliroSKDevice, id, c.keys.okm[aliroOffDevice:aliroOffDevice+aliroKeySize])
	b = keylog.AppendLine(b, keylog.AliroStepUpSK, id, c.keys.okm[aliroOffStepUp:aliroOffStepUp+aliroKeySize])
	b = c.appendURSKLine(b)
	_, _ = c.keyLog.Write(b)
	clear(b)
}

// logFastKeys writes the expedited channel keys of the fast key material
// and, over Bluetooth LE, URSK.
func (c *aliroCore) logFastKeys() {
	if c.keyLog == nil {
		return
	}
	id := c.t.txID[:]
	b := make([]byte, 0, 512)
	b = keylog.AppendLine(b, keylog.AliroFastSKReader, id, c.keys.okm[aliroOffFastReader:aliroOffFastReader+aliroKeySize])
	b = keylog.AppendLine(b, keylog.AliroFastSKDevice, id, c.keys.okm[aliroOffFastDevice:aliroOffFastDevice+aliroKeySize])
	b = c.appendURSKLine(b)
	_, _ = c.keyLog.Write(b)
	clear(b)
}

// logPersistent writes the new Kpersistent.
func (c *aliroCore) logPersistent() {
	if c.keyLog == nil {
		return
	}
	b := keylog.AppendLine(make([]byte, 0, 128), keylog.TransactionKpersistent, c.t.txID[:], c.keys.persist[:])
	_, _ = c.keyLog.Write(b)
	clear(b)
}

// appendURSKLine appends the URSK line over Bluetooth LE, where Aliro
// derives one (Aliro 1.0 8.3.1.12, 8.3.1.13).
func (c *aliroCore) appendURSKLine(b []byte) []byte {
	if c.t.iface != InterfaceBLE {
		return b
	}
	return keylog.AppendLine(b, keylog.TransactionURSK, c.t.txID[:], c.keys.okm[aliroOffURSK:aliroOffURSK+RangingKeySize])
}
