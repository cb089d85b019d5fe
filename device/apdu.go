package device

import (
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
	"github.com/opencarkey/sdk/sharing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// Instruction bytes the applet dispatches on (docs/protocol.md §2.3).
const (
	insSelect   = 0xA4
	insAuth0    = 0x80
	insAuth1    = 0x81
	insExchange = 0xC9
	insControl  = 0x3C
	// insCreateRangingKey is CREATE RANGING KEY (Release 3, docs/protocol.md
	// §2.3; ranging.go).
	insCreateRangingKey = 0x71
)

// ProcessAPDU answers one command APDU that arrived over NFC and appends
// the response to dst. It never fails: a malformed or refused command gets
// a status word, and nothing the command could not change legitimately is
// changed. Commands from another interface go through ProcessAPDUOn.
func (a *Applet) ProcessAPDU(dst, apdu []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.made() || !a.useInterfaceLocked(transaction.InterfaceNFC) {
		// An Applet NewApplet did not make answers every command with
		// 6F00, as an applet that cannot make a session does: the fault
		// is the host's, not a condition the vehicle could satisfy
		// (6985), so no precise diagnosis.
		return transport.AppendResponse(dst, nil, dkey.SWNoPreciseDiagnosis)
	}
	return a.processLocked(dst, apdu)
}

// processLocked answers one command APDU on the interface in use. a.mu is
// held.
func (a *Applet) processLocked(dst, apdu []byte) []byte {
	cmd, err := transport.ParseCommand(apdu)
	if err != nil {
		a.abortLocked()
		return transport.AppendResponse(dst, nil, dkey.SWWrongLength)
	}
	if a.sel == selConfiguration && !(cmd.CLA == 0x00 && cmd.INS == insSelect) {
		// The Home Key configuration applet has its own ChainingCard
		// (homekey.go).
		return a.configurationAPDU(dst, apdu)
	}
	if cmd.IsChained() {
		// Chained commands are reassembled by transport.ChainingCard in
		// front of the applet.
		return transport.AppendResponse(dst, nil, dkey.SWChainingNotSupported)
	}
	if cmd.Channel() != 0 {
		return transport.AppendResponse(dst, nil, dkey.SWLogicalChannelNotSupported)
	}
	start := len(dst)
	out, err := a.dispatch(dst, &cmd)
	if err != nil {
		return transport.AppendResponse(dst[:start], nil, transaction.StatusWordFor(err))
	}
	return transport.AppendResponse(out, nil, dkey.SWSuccess)
}

func (a *Applet) dispatch(dst []byte, cmd *transport.Command) ([]byte, error) {
	if cmd.INS == insSelect && cmd.CLA == 0x00 {
		return a.selectApplet(dst, cmd)
	}
	switch a.sel {
	case selDK:
		return a.dispatchDK(dst, cmd)
	case selFramework:
		return a.dispatchFramework(dst, cmd)
	}
	return dst, dkey.SWConditionsNotSatisfied
}

func (a *Applet) selectApplet(dst []byte, cmd *transport.Command) ([]byte, error) {
	armed := a.takeArmedLocked()
	a.abortLocked()
	a.sel = selNone
	if cmd.P1 != 0x04 || cmd.P2 != 0x00 {
		return dst, dkey.SWIncorrectP1P2
	}
	if a.cfg.Profile.AppletAID().Selects(cmd.Data) {
		a.sel = selDK
		return a.sess.Select(dst), nil
	}
	if dkey.AIDFramework.Selects(cmd.Data) && a.pairingOffered() {
		return a.selectFramework(dst)
	}
	if a.cfg.Profile == dkey.HomeKey && mdoc.AIDHomeKeyConfiguration.Selects(cmd.Data) {
		return a.selectConfigurationLocked(dst, armed)
	}
	if armed != nil {
		armed.secret.Zeroize()
	}
	return dst, dkey.SWFileNotFound
}

func (a *Applet) dispatchDK(dst []byte, cmd *transport.Command) ([]byte, error) {
	switch {
	case cmd.INS == insAuth0 && cmd.CLA == 0x80:
		return a.auth0(dst, cmd)
	case cmd.INS == insAuth1 && cmd.CLA == 0x80:
		return a.auth1(dst, cmd)
	case cmd.INS == insExchange && cmd.CLA == 0x84:
		return a.exchange(dst, cmd)
	case cmd.INS == insControl && cmd.CLA == 0x80:
		return a.controlFlowHooked(dst, cmd)
	case cmd.INS == insCreateRangingKey && cmd.CLA == 0x80:
		return a.createRangingKey(dst, cmd)
	case cmd.INS == insAuth0 || cmd.INS == insAuth1 || cmd.INS == insExchange || cmd.INS == insControl || cmd.INS == insCreateRangingKey:
		a.abortLocked()
		return dst, dkey.SWClassNotSupported
	}
	return dst, dkey.SWInstructionNotSupported
}

// auth0 applies the device's policy before any key is used: lost mode, the
// key's state, express mode and user authentication (docs/design.md, "What the system must do" §2).
func (a *Applet) auth0(dst []byte, cmd *transport.Command) ([]byte, error) {
	a.current, a.areaSeen = nil, 0
	vid, err := a.sess.ReadAuth0(cmd)
	if err != nil {
		return dst, err
	}
	k := a.find(vid)
	if err = a.policyLocked(k); err != nil {
		a.cfg.Hooks.keyRefused(vid, k, a.sess.Action(), err)
		a.abortLocked()
		return dst, fmt.Errorf("device: %w", err)
	}
	cred := a.credentialLocked(k, vid)
	out, err := a.sess.Auth0(dst, cred)
	if err != nil {
		return dst, err
	}
	a.current = k
	a.cfg.Hooks.transactionStart(k, a.sess.Action(), a.sess.Flags()&transaction.FlagFast != 0 && cred.Persistent.Valid())
	return out, nil
}

// policyLocked is the device's policy for key k (nil: the applet has no
// live key for the vehicle) at a reader, and for remote keyless entry
// (SignRKE): lost mode, the key's state, power reserve, express mode and
// user authentication. a.mu is held.
func (a *Applet) policyLocked(k *key) error {
	switch {
	case k == nil:
		return dkey.ErrUnknownVehicle
	case a.lost:
		return dkey.ErrKeySuspended
	case k.state == dkey.KeySuspended:
		return dkey.ErrKeySuspended
	case a.power:
		// Power reserve (power.go): no host, no host clock, no user
		// authentication; only the keys marked for it, with express
		// mode on, transact.
		return powerReserveRefusal(k)
	case !k.express && !a.now().Before(a.authTil):
		return dkey.ErrUserAuthenticationRequired
	}
	return nil
}

func (a *Applet) auth1(dst []byte, cmd *transport.Command) ([]byte, error) {
	k := a.current
	if k == nil {
		return dst, transaction.ErrOutOfSequence
	}
	c, p := k.mailboxes.ConfidentialAuth1, k.mailboxes.PrivateAuth1
	out, pk, err := a.sess.Auth1(dst, cmd, k.conf[c.Offset:c.End()], k.private[p.Offset:p.End()])
	if err != nil {
		a.current = nil
		return dst, err
	}
	// Kpersistent is replaced after every standard transaction (docs/protocol.md
	// §4.5). The new one is staged until the vehicle reports success with
	// CONTROL FLOW: the vehicle replaces its own only when it verified this
	// response and the transaction succeeded, so both sides keep the old key
	// when anything fails in between (see controlFlow).
	a.pending = pk
	// What of the statement area the vehicle has now read (controlFlow).
	a.areaSeen, a.areaGen = 0, k.privGen
	if p.Offset == 0 {
		a.areaSeen = int(p.Length)
	}
	return out, nil
}

// exchange checks every operation of an EXCHANGE against the key's
// mailboxes before it applies any, so that a command is applied whole or
// not at all; writes are applied to copies of the mailboxes and stored,
// in one batch, before they take effect. A write of the empty area header
// at offset 0 of the private mailbox is the vehicle's acknowledgement of
// the statement area (acknowledgement).
func (a *Applet) exchange(dst []byte, cmd *transport.Command) ([]byte, error) {
	k := a.current
	if k == nil {
		return dst, transaction.ErrOutOfSequence
	}
	plain, err := a.sess.OpenExchangeData(cmd)
	if err != nil {
		a.current = nil
		return dst, err
	}
	if a.cfg.Profile == dkey.HomeKey && isAttestationExchange(plain) {
		return a.attestationExchangeLocked(dst, plain)
	}
	ops, err := a.sess.ParseExchange(plain)
	if err != nil {
		// A command that verified: the channel stays up.
		return dst, err
	}
	writes, ack := false, false
	for i := range ops {
		if err := ops[i].Check(len(k.mailbox(ops[i].Mailbox))); err != nil {
			return dst, err
		}
		switch {
		case acknowledgement(&ops[i]):
			if !a.areaAcknowledgeable(k) {
				return dst, fmt.Errorf("device: the statement area cannot be cleared: %w", dkey.SWConditionsNotSatisfied)
			}
			ack = true
		case ops[i].Kind != transaction.OpRead:
			writes = true
		}
	}
	res := a.results[:0]
	var private, conf []byte
	if writes || ack {
		private, conf = slices.Clone(k.private), slices.Clone(k.conf)
	}
	for i := range ops {
		op := &ops[i]
		switch op.Kind {
		case transaction.OpRead:
			// Reads see the writes before them in the command.
			mb := k.mailbox(op.Mailbox)
			if private != nil {
				mb = private
				if op.Mailbox == dkey.ConfidentialMailbox {
					mb = conf
				}
			}
			res = transaction.AppendReadResult(res, mb[op.Offset:op.End()])
			if op.Mailbox == dkey.PrivateMailbox && int(op.Offset) <= a.areaSeen {
				a.areaSeen = max(a.areaSeen, op.End())
			}
			continue
		}
		mb := private
		if op.Mailbox == dkey.ConfidentialMailbox {
			mb = conf
		}
		switch {
		case acknowledgement(op):
			// The vehicle consumed the statements (docs/protocol.md §6.4).
			sharing.ClearMailboxArea(mb)
		case op.Kind == transaction.OpWrite:
			copy(mb[op.Offset:], op.Data)
		case op.Kind == transaction.OpFill:
			seg := mb[op.Offset:op.End()]
			for j := range seg {
				seg[j] = op.Value
			}
		}
	}
	if private != nil {
		oldPrivate, oldConf := k.private, k.conf
		err := a.saveKeyLocked(k, func(c *key) {
			c.private, c.conf = private, conf
			if ack {
				c.privGen++
			}
		})
		if err != nil {
			clear(private)
			clear(conf)
			clear(res)
			return dst, fmt.Errorf("%w: %w", dkey.SWMemoryError, err)
		}
		clear(oldPrivate)
		clear(oldConf)
		if ack {
			// What was read is gone.
			a.areaSeen = 0
			a.cfg.Hooks.statementsCleared(k)
		}
	}
	out, err := a.sess.SealExchange(dst, res)
	clear(res)
	return out, err
}

// acknowledgement reports whether op is the vehicle's acknowledgement of
// the statement area: a write of exactly the area header, with no
// statement signaled and a zero length, at offset 0 of the private
// mailbox (package vehicle sends it once it has applied and stored every
// statement it read).
func acknowledgement(op *transaction.MailboxOp) bool {
	return op.Kind == transaction.OpWrite && op.Mailbox == dkey.PrivateMailbox && op.Offset == sharing.SignalOffset &&
		len(op.Data) == sharing.AreaHeaderSize && op.Data[sharing.SignalOffset]&signalBits == 0 &&
		op.Data[sharing.AreaLengthOffset] == 0 && op.Data[sharing.AreaLengthOffset+1] == 0
}

// areaAcknowledgeable reports whether the vehicle may clear the statement
// area of k: it read the whole area in this transaction (the AUTH1
// private subset and EXCHANGE reads from offset 0 covered it), and the
// host app has not written the private mailbox since AUTH1, so that the
// acknowledgement never clears a statement the vehicle did not see.
func (a *Applet) areaAcknowledgeable(k *key) bool {
	return k.privGen == a.areaGen && areaConsumed(k.private, a.areaSeen)
}

func (k *key) mailbox(m dkey.Mailbox) []byte {
	if m == dkey.ConfidentialMailbox {
		return k.conf
	}
	return k.private
}

// controlFlow records the vehicle's verdict and commits the staged
// Kpersistent of a standard transaction that succeeded, in the secure
// element, before it answers 9000: the vehicle commits its own copy only
// when it has this answer. CONTROL FLOW travels in clear (docs/protocol.md
// §4.9): a forged "failure" can only make the device keep its old
// Kpersistent, which costs the next fast transaction a fallback to a
// standard one; a "key deleted" (00A0) suspends the key instead of
// destroying it, and only after the vehicle authenticated itself with
// AUTH1 in this transaction; "delete the attestation package" (4082)
// clears nothing: the statement area is cleared by the vehicle's
// authenticated acknowledgement (exchange), which a relay cannot forge.
//
// The transaction count and the code are display data: they are stored
// with the next batch, so that a fast transaction writes nothing.
func (a *Applet) controlFlow(dst []byte, cmd *transport.Command) ([]byte, error) {
	k := a.current
	standard := a.sess.Standard()
	cf, err := a.sess.ReadControlFlow(cmd)
	secret, hasSecret := a.takeSecretLocked()
	defer secret.Zeroize()
	a.current, a.areaSeen = nil, 0
	pending := a.pending
	a.pending.Zeroize()
	defer pending.Zeroize()
	staged := a.rng.takeStaged()
	defer staged.clear()
	if err != nil || k == nil {
		return dst, err
	}
	k.lastCF, k.dirty = cf, true
	if cf.Success() {
		k.txCount++
	}
	if standard && (cf.Success() || cf.Continue()) {
		// The URSK CREATE RANGING KEY staged (ranging.go), first: if
		// Kpersistent fails after it, the vehicle sees no acknowledgement
		// and keeps no URSK, and the device's goes at its TTL.
		if err := a.commitRangingLocked(k, &staged); err != nil {
			return dst, fmt.Errorf("%w: %w", dkey.SWMemoryError, err)
		}
	}
	if standard && (cf.Success() || cf.Continue()) && pending.Valid() {
		if err := a.commitPersistentLocked(k, &pending); err != nil {
			// Both sides keep the old Kpersistent: the vehicle sees no
			// acknowledgement.
			return dst, fmt.Errorf("%w: %w", dkey.SWMemoryError, err)
		}
	}
	if cf == transaction.CFKeyDeleted && standard {
		// The vehicle says it deleted the key. CONTROL FLOW is not
		// authenticated, and a relay can rewrite the code of a genuine
		// transaction, so the applet does not destroy the key on this word
		// alone: it suspends it and flags it for the host app, which
		// terminates it once the deletion is confirmed (by the automaker's
		// server or the user).
		err := a.saveKeyLocked(k, func(c *key) {
			c.state = dkey.KeySuspended
			c.vehicleDeleted = true
		})
		if err != nil {
			return dst, fmt.Errorf("%w: %w", dkey.SWMemoryError, err)
		}
	}
	a.armLocked(k, cf, standard, &secret, hasSecret)
	return dst, nil
}
