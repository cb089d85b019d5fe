package apdutrace

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/securemsg"
	"github.com/opencarkey/sdk/pairing"
	"github.com/opencarkey/sdk/transaction"
	"github.com/opencarkey/sdk/transport"
)

// HexBytes is a byte string that JSON encodes as hexadecimal.
type HexBytes []byte

// MarshalText returns the bytes in lowercase hexadecimal.
func (h HexBytes) MarshalText() ([]byte, error) { return hex.AppendEncode(nil, h), nil }

// UnmarshalText decodes hexadecimal.
func (h *HexBytes) UnmarshalText(text []byte) error {
	b, err := hex.DecodeString(string(text))
	*h = b
	return err
}

// Report is a decoded trace: one Step per exchange, in order.
type Report struct {
	Steps []Step `json:"exchanges"`
}

// Step is one exchange of the trace, named and decoded.
type Step struct {
	// Index counts the exchanges from 1; Line is the command's line.
	Index int `json:"index"`
	Line  int `json:"line"`
	// Note is the trace's comment before the command.
	Note string `json:"note,omitempty"`
	// Command, Response and Error are the exchange as recorded.
	Command  HexBytes `json:"command"`
	Response HexBytes `json:"response,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Name is the command's name ("AUTH0", "WRITE DATA (chained, part 1)").
	Name string `json:"name"`
	// Params interprets P1 and P2, or what the command selects.
	Params string `json:"params,omitempty"`
	// Status is the status word and its meaning.
	Status string `json:"status,omitempty"`
	// Request is the command's data, decoded; on a chained command, at the
	// last part, for the whole chain.
	Request *Message `json:"request,omitempty"`
	// Reply is the response's data, decoded; for a response read with GET
	// RESPONSE, at the last part, for the whole response.
	Reply *Message `json:"reply,omitempty"`
	// Problems lists what does not fit the protocol.
	Problems []string `json:"problems,omitempty"`
}

func (s *Step) problem(format string, a ...any) {
	s.Problems = append(s.Problems, fmt.Sprintf(format, a...))
}

// Message is the data field of a command or response.
type Message struct {
	// Size is the length of the data field (the whole chain's, the whole
	// response's).
	Size int `json:"size"`
	// SecureMessaging, when set, says how the protected data field was
	// verified and decrypted; Fields then decode the plaintext.
	SecureMessaging *Protection `json:"secure_messaging,omitempty"`
	// Fields are the data objects of the data field or plaintext.
	Fields []Field `json:"fields,omitempty"`
}

// Protection is what the decoder made of a protected data field
// (docs/protocol.md §3.4, §4.7).
type Protection struct {
	// Keys names the key set: TRANSACTION (after AUTH1), FAST (after a fast
	// AUTH0) or PAIRING.
	Keys string `json:"keys"`
	// Session identifies the session in the key log: the transaction
	// identifier, or the device's SPAKE2+ share X.
	Session HexBytes `json:"session,omitempty"`
	// Counter is the channel counter of the message (00 for the AUTH1
	// response).
	Counter int `json:"counter"`
	// Verified reports that the MAC verified and the data decrypted.
	Verified bool `json:"verified"`
	// Result says what happened: "C-MAC verified", "R-MAC verified", "no
	// key log", "MAC does not verify", ...
	Result string `json:"result"`
	// Plaintext is the decrypted data field, when Verified.
	Plaintext HexBytes `json:"plaintext,omitempty"`
}

// Field is one data object, or one value of a fixed layout.
type Field struct {
	// Tag is the BER-TLV tag in hexadecimal, empty for fixed layouts.
	Tag string `json:"tag,omitempty"`
	// Name says what the object is.
	Name string `json:"name"`
	// Value is the object's value; empty for a constructed object.
	Value HexBytes `json:"value,omitempty"`
	// Text interprets the value ("1.0", "unlock", a certificate's subject).
	Text string `json:"text,omitempty"`
	// Fields are the objects inside a constructed object.
	Fields []Field `json:"fields,omitempty"`
}

// cmdKind is what a command is, by its class, instruction and the applet
// selected.
type cmdKind uint8

const (
	cmdUnknown cmdKind = iota
	cmdSelect
	cmdGetResponse
	cmdAuth0
	cmdAuth1
	cmdExchange
	cmdControlFlow
	cmdSpakeRequest
	cmdSpakeVerify
	cmdWriteData
	cmdGetData
	cmdOpControlFlow
)

var cmdNames = [...]string{
	cmdUnknown:       "unknown command",
	cmdSelect:        "SELECT",
	cmdGetResponse:   "GET RESPONSE",
	cmdAuth0:         "AUTH0",
	cmdAuth1:         "AUTH1",
	cmdExchange:      "EXCHANGE",
	cmdControlFlow:   "CONTROL FLOW",
	cmdSpakeRequest:  "SPAKE2+ REQUEST",
	cmdSpakeVerify:   "SPAKE2+ VERIFY",
	cmdWriteData:     "WRITE DATA",
	cmdGetData:       "GET DATA",
	cmdOpControlFlow: "OP CONTROL FLOW",
}

func (k cmdKind) String() string { return cmdNames[k] }

// protected reports whether the command's data field is under secure
// messaging (CLA 84, docs/protocol.md §3.4, §4.7).
func (k cmdKind) protected() bool {
	return k == cmdExchange || k == cmdWriteData || k == cmdGetData
}

// app is the applet the last SELECT chose.
type app uint8

const (
	appNone app = iota
	appDigitalKey
	appFramework
	appOther
)

// decoder is the state that carries from one exchange to the next: the
// applet, command chaining and GET RESPONSE, and the secure channels.
type decoder struct {
	keys *KeyLog

	app app

	chain      []byte
	chainCLA   byte
	chainINS   byte
	chainParts int

	pending *pendingReply

	txID   []byte
	auth1  bool
	txCh   *observer
	fastCh *observer

	pairX  []byte
	pairCh *observer
}

// logical is a whole command: the chain reassembled.
type logical struct {
	cla, ins, p1, p2 byte
	kind             cmdKind
	data             []byte
	plain            []byte    // the verified plaintext of a protected command
	ch               *observer // the channel that carried it
}

// pendingReply is a logical command whose response comes in parts (61xx,
// GET RESPONSE).
type pendingReply struct {
	cmd   logical
	data  []byte
	index int // the exchange that sent the command
}

// Decode names and decodes every exchange of t. With keys (nil for none) it
// verifies and decrypts the secure messaging of the sessions the key log
// covers. Decode never fails: what does not fit the protocol is reported
// in each Step's Problems.
func Decode(t Trace, keys *KeyLog) *Report {
	d := &decoder{keys: keys}
	r := &Report{Steps: make([]Step, 0, len(t))}
	for i := range t {
		r.Steps = append(r.Steps, d.step(i+1, &t[i]))
	}
	return r
}

func (d *decoder) step(index int, e *Exchange) Step {
	s := Step{Index: index, Line: e.Line, Note: e.Note, Command: e.Command, Response: e.Response, Error: e.Error}
	var sw dkey.StatusWord
	var rdata []byte
	if e.Response != nil {
		n := len(e.Response)
		sw = dkey.StatusWord(uint16(e.Response[n-2])<<8 | uint16(e.Response[n-1]))
		rdata = e.Response[:n-2]
		s.Status = statusText(sw)
	}
	cmd, err := transport.ParseCommand(e.Command)
	if err != nil {
		s.Name = "malformed command"
		s.problem("command APDU: %v", err)
		d.chain, d.chainParts, d.pending = nil, 0, nil
		return s
	}

	// The rest of a response that came in parts.
	if cmd.CLA == 0x00 && cmd.INS == 0xC0 {
		s.Name = cmdGetResponse.String()
		s.Params = fmt.Sprintf("Le %d", cmd.Ne)
		p := d.pending
		if p == nil {
			s.problem("no 61xx response to continue")
			return s
		}
		s.Params += fmt.Sprintf(", the rest of the response to %d", p.index)
		if e.Response == nil {
			d.pending = nil
			return s
		}
		p.data = append(p.data, rdata...)
		if sw.SW1() == 0x61 {
			return s
		}
		d.pending = nil
		s.Reply = d.reply(&s, &p.cmd, p.data, sw)
		return s
	}
	if d.pending != nil {
		s.problem("the previous response announced more data (61xx) that was never read")
		d.pending = nil
	}

	kind := d.classify(cmd.CLA, cmd.INS)
	s.Name = kind.String()
	if kind == cmdUnknown {
		s.Name = fmt.Sprintf("unknown command (CLA %02X INS %02X)", cmd.CLA, cmd.INS)
	}

	// Command chaining: CLA bit 5 (ISO/IEC 7816-4 §5.4.1).
	if cmd.CLA&0x10 != 0 {
		if d.chainParts > 0 && (cmd.CLA != d.chainCLA || cmd.INS != d.chainINS) {
			s.problem("a chain of %02X %02X was interrupted", d.chainCLA, d.chainINS)
			d.chain, d.chainParts = nil, 0
		}
		d.chain = append(d.chain, cmd.Data...)
		d.chainCLA, d.chainINS = cmd.CLA, cmd.INS
		d.chainParts++
		s.Name += fmt.Sprintf(" (chained, part %d)", d.chainParts)
		if e.Response != nil && !sw.OK() {
			s.problem("the card refused a part of the chain")
			d.chain, d.chainParts = nil, 0
		}
		return s
	}
	data := cmd.Data
	if d.chainParts > 0 {
		if cmd.INS == d.chainINS && cmd.CLA == d.chainCLA&^0x10 {
			data = append(d.chain, cmd.Data...)
			s.Name += fmt.Sprintf(" (chained, last of %d parts)", d.chainParts+1)
		} else {
			s.problem("a chain of %02X %02X was abandoned", d.chainCLA, d.chainINS)
		}
		d.chain, d.chainParts = nil, 0
	}

	lc := &logical{cla: cmd.CLA, ins: cmd.INS, p1: cmd.P1, p2: cmd.P2, kind: kind, data: data}
	s.Params = d.params(lc)
	s.Request = d.request(&s, lc)
	if e.Response == nil {
		d.transportError(lc)
		return s
	}
	if sw.SW1() == 0x61 {
		d.pending = &pendingReply{cmd: *lc, data: bytes.Clone(rdata), index: index}
		return s
	}
	s.Reply = d.reply(&s, lc, rdata, sw)
	return s
}

// statusText returns the status word with its meaning.
func statusText(sw dkey.StatusWord) string {
	text := sw.Error() // "status word 9000: success"
	const prefix = "status word "
	if len(text) > len(prefix) {
		return text[len(prefix):]
	}
	return text
}

// classify names a command by class and instruction (docs/protocol.md §2.3,
// §3.2), the chaining bit aside.
func (d *decoder) classify(cla, ins byte) cmdKind {
	switch base := cla &^ 0x10; {
	case base == 0x00 && ins == 0xA4:
		return cmdSelect
	case base == 0x80:
		switch ins {
		case 0x80:
			return cmdAuth0
		case 0x81:
			return cmdAuth1
		case 0x30:
			return cmdSpakeRequest
		case 0x32:
			return cmdSpakeVerify
		case 0x3C:
			if d.app == appFramework {
				return cmdOpControlFlow
			}
			return cmdControlFlow
		}
	case base == 0x84:
		switch ins {
		case 0xC9:
			return cmdExchange
		case 0xD4:
			return cmdWriteData
		case 0xCA:
			return cmdGetData
		}
	}
	return cmdUnknown
}

// params interprets P1 and P2.
func (d *decoder) params(lc *logical) string {
	switch lc.kind {
	case cmdSelect:
		if lc.p1 != 0x04 {
			return fmt.Sprintf("P1 %02X P2 %02X (not selection by name)", lc.p1, lc.p2)
		}
		return fmt.Sprintf("by name %X (%s)", lc.data, aidName(lc.data))
	case cmdAuth0:
		return fmt.Sprintf("flags %02X (%s), action %02X (%v)", lc.p1, flagsText(lc.p1), lc.p2, dkey.Action(lc.p2))
	case cmdControlFlow:
		return transaction.ControlFlow(uint16(lc.p1)<<8 | uint16(lc.p2)).String()
	case cmdOpControlFlow:
		return pairing.OpControlFlow(uint16(lc.p1)<<8 | uint16(lc.p2)).String()
	}
	if lc.p1 != 0 || lc.p2 != 0 {
		return fmt.Sprintf("P1 %02X P2 %02X", lc.p1, lc.p2)
	}
	return ""
}

func aidName(aid []byte) string {
	switch {
	case dkey.AIDDigitalKey.Selects(aid):
		return "Digital Key applet, CCC"
	case dkey.AIDHomeKey.Selects(aid):
		return "Digital Key applet, Home Key"
	case dkey.AIDFramework.Selects(aid):
		return "Digital Key framework"
	}
	return "unknown application"
}

func flagsText(p1 byte) string {
	var parts []string
	if p1&byte(transaction.FlagFast) != 0 {
		parts = append(parts, "fast")
	}
	if p1&byte(transaction.FlagExchange) != 0 {
		parts = append(parts, "exchange")
	}
	if rest := p1 &^ byte(transaction.FlagFast|transaction.FlagExchange); rest != 0 {
		parts = append(parts, fmt.Sprintf("unknown %02X", rest))
	}
	if parts == nil {
		return "standard"
	}
	text := parts[0]
	for _, p := range parts[1:] {
		text += ", " + p
	}
	return text
}

// request decodes the command's data and follows the session: a new
// transaction at AUTH0, the channel for a protected command.
func (d *decoder) request(s *Step, lc *logical) *Message {
	if len(lc.data) == 0 && !lc.kind.protected() {
		return nil
	}
	m := &Message{Size: len(lc.data)}
	switch lc.kind {
	case cmdSelect:
		return nil // the AID is in Params
	case cmdAuth0:
		m.Fields = fieldsOf(lc.data, auth0Command)
		d.txID, d.auth1, d.txCh, d.fastCh = nil, false, nil, nil
		for _, f := range m.Fields {
			if f.Tag == "4C" {
				d.txID = f.Value
			}
		}
		if d.txID == nil {
			s.problem("AUTH0 without a transaction identifier (4C)")
		}
	case cmdAuth1:
		m.Fields = fieldsOf(lc.data, auth1Command)
	case cmdExchange:
		ch := d.txCh
		if !d.auth1 {
			if d.fastCh == nil {
				d.fastCh = d.open(setFast, d.txID, securemsg.CommandFirst)
			}
			ch = d.fastCh
		}
		d.unprotectCommand(m, lc, ch, exchangeCommand)
	case cmdSpakeRequest:
		m.Fields = fieldsOf(lc.data, spakeRequest)
	case cmdSpakeVerify:
		m.Fields = fieldsOf(lc.data, spakeVerify)
	case cmdWriteData:
		d.unprotectCommand(m, lc, d.pairCh, writeData)
	case cmdGetData:
		d.unprotectCommand(m, lc, d.pairCh, nil)
		if lc.plain != nil {
			m.Fields = getDataTags(lc.plain)
		}
	default:
		m.Fields = []Field{{Name: "data", Value: lc.data}}
	}
	return m
}

// open returns an observer of the channel of a session, or one that says
// why there is none.
func (d *decoder) open(set keySet, id []byte, flow securemsg.Flow) *observer {
	o := &observer{set: set, id: id}
	switch {
	case id == nil:
		o.missing = "no session identifier in the trace"
	case d.keys == nil:
		o.missing = "no key log"
	default:
		keys := d.keys.lookup(set, id)
		if keys == nil {
			o.missing = "no " + set.String() + " keys for this session in the key log"
			break
		}
		if err := o.rcv.Init(keys, flow); err != nil {
			o.missing = err.Error()
			break
		}
		if err := o.snd.Init(keys, flow); err != nil {
			o.missing = err.Error()
		}
	}
	return o
}

func (d *decoder) unprotectCommand(m *Message, lc *logical, ch *observer, dict dictionary) {
	if ch == nil {
		m.SecureMessaging = &Protection{Result: "no secure channel: the session's key agreement is not in the trace"}
		return
	}
	lc.ch = ch
	m.SecureMessaging, lc.plain = ch.command(lc.data)
	if lc.plain != nil && dict != nil {
		m.Fields = fieldsOf(lc.plain, dict)
	}
}

func (d *decoder) unprotectResponse(m *Message, ch *observer, data []byte, dict dictionary) {
	if ch == nil {
		m.SecureMessaging = &Protection{Result: "no secure channel: the session's key agreement is not in the trace"}
		return
	}
	var plain []byte
	m.SecureMessaging, plain = ch.response(data)
	if plain != nil && dict != nil {
		m.Fields = fieldsOf(plain, dict)
	}
}

// reply decodes the response's data and follows the session: the applet
// selected, the channel opened after AUTH1 or SPAKE2+ VERIFY, the end of a
// transaction or pairing.
func (d *decoder) reply(s *Step, lc *logical, data []byte, sw dkey.StatusWord) *Message {
	m := &Message{Size: len(data)}
	if !sw.OK() {
		switch lc.kind {
		case cmdSelect:
			d.app = appNone
		case cmdControlFlow:
			d.endTransaction()
		}
		if len(data) == 0 {
			return nil
		}
		m.Fields = []Field{{Name: "data", Value: data}}
		if lc.kind.protected() {
			s.problem("data in an error response, which carries no R-MAC")
		}
		return m
	}
	switch lc.kind {
	case cmdSelect:
		d.endTransaction()
		d.app = appOther
		switch {
		case dkey.AIDDigitalKey.Selects(lc.data), dkey.AIDHomeKey.Selects(lc.data):
			d.app = appDigitalKey
		case dkey.AIDFramework.Selects(lc.data):
			d.app = appFramework
			d.pairX, d.pairCh = nil, nil
		}
		switch d.app {
		case appDigitalKey:
			m.Fields = fieldsOf(data, dkSelect)
		case appFramework:
			m.Fields = fieldsOf(data, frameworkSelect)
		default:
			if len(data) > 0 {
				m.Fields = []Field{{Name: "data", Value: data}}
			}
		}
	case cmdAuth0:
		m.Fields = fieldsOf(data, auth0Response)
	case cmdAuth1:
		d.auth1 = true
		d.txCh = d.open(setTransaction, d.txID, securemsg.InitialResponse)
		d.unprotectResponse(m, d.txCh, data, auth1Response)
	case cmdExchange:
		d.unprotectResponse(m, lc.ch, data, exchangeResponse)
	case cmdControlFlow:
		d.endTransaction()
	case cmdSpakeRequest:
		m.Fields = fieldsOf(data, spakeResponse)
		d.pairX, d.pairCh = nil, nil
		for _, f := range m.Fields {
			if f.Tag == "50" {
				d.pairX = f.Value
			}
		}
	case cmdSpakeVerify:
		m.Fields = fieldsOf(data, spakeVerifyResponse)
		d.pairCh = d.open(setPairing, d.pairX, securemsg.CommandFirst)
	case cmdWriteData:
		d.unprotectResponse(m, lc.ch, data, nil)
	case cmdGetData:
		d.unprotectResponse(m, lc.ch, data, getDataResponse)
	case cmdOpControlFlow:
		if op := pairing.OpControlFlow(uint16(lc.p1)<<8 | uint16(lc.p2)); op.Abort() || op.Complete() {
			d.pairX, d.pairCh = nil, nil
		}
	default:
		if len(data) > 0 {
			m.Fields = []Field{{Name: "data", Value: data}}
		}
	}
	if m.Size == 0 && m.SecureMessaging == nil {
		return nil
	}
	return m
}

// transportError follows a command that got no response: a transaction
// or pairing whose link failed is over.
func (d *decoder) transportError(lc *logical) {
	if lc.kind == cmdControlFlow {
		d.endTransaction()
	}
}

func (d *decoder) endTransaction() {
	d.txID, d.auth1, d.txCh, d.fastCh = nil, false, nil, nil
}

// observer follows one secure channel from outside: it verifies and
// decrypts commands as the receiver does and responses as the sender does,
// and replays each plaintext on the other end so that both ends' counters
// and MAC chains advance as the real ones did.
type observer struct {
	set     keySet
	id      []byte
	missing string // why the channel cannot be followed
	rcv     securemsg.Receiver
	snd     securemsg.Sender
	ctr     int
	broken  string
}

func (o *observer) protection() *Protection {
	return &Protection{Keys: o.set.String(), Session: o.id, Counter: o.ctr}
}

// blocked reports, in p, why the channel cannot check a message, if it
// cannot.
func (o *observer) blocked(p *Protection) bool {
	switch {
	case o.missing != "":
		p.Result = o.missing
	case o.broken != "":
		p.Result = "not checked: " + o.broken
	default:
		return false
	}
	return true
}

func (o *observer) command(msg []byte) (*Protection, []byte) {
	o.ctr++
	p := o.protection()
	if o.blocked(p) {
		return p, nil
	}
	plain, err := o.rcv.UnprotectCommand(nil, msg)
	if err != nil {
		o.broken = "an earlier message did not verify"
		p.Result = "C-MAC does not verify: " + err.Error()
		return p, nil
	}
	// The sender's end protects the same plaintext to the same bytes:
	// the construction is deterministic.
	if again, err := o.snd.ProtectCommand(nil, plain); err != nil || !bytes.Equal(again, msg) {
		o.broken = "the channel could not be replayed"
		p.Result = "verified, but the channel could not be replayed"
		return p, nil
	}
	p.Verified, p.Result, p.Plaintext = true, "C-MAC verified", plain
	return p, plain
}

func (o *observer) response(msg []byte) (*Protection, []byte) {
	p := o.protection()
	if o.blocked(p) {
		return p, nil
	}
	plain, err := o.snd.UnprotectResponse(nil, msg)
	if err != nil {
		o.broken = "an earlier message did not verify"
		p.Result = "R-MAC does not verify: " + err.Error()
		return p, nil
	}
	if _, err := o.rcv.ProtectResponse(nil, plain); err != nil {
		o.broken = "the channel could not be replayed"
	}
	p.Verified, p.Result, p.Plaintext = true, "R-MAC verified", plain
	return p, plain
}
