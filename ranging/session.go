package ranging

import (
	"errors"
	"fmt"
	"sync"
)

// SessionState is the state of an established ranging session.
type SessionState uint8

// Session states.
const (
	// StateEstablished: the setup is done; the UWB chips can range.
	StateEstablished SessionState = iota + 1
	// StateSuspended: a suspend request was accepted; ranging is paused.
	StateSuspended
	// StateRecovered: a recovery gave new STS_Index0 and UWB_Time0 values;
	// ranging resumes with them.
	StateRecovered
	// StateURSKRefreshNeeded: the URSK expired or was revoked; the session
	// cannot range or recover again. A new standard transaction must derive
	// a new URSK (the vehicle asks for one with P2 = 10, docs/protocol.md §8.5).
	StateURSKRefreshNeeded
	// StateClosed: the session ended and its keys are zeroized.
	StateClosed
)

// String names the state.
func (s SessionState) String() string {
	switch s {
	case StateEstablished:
		return "established"
	case StateSuspended:
		return "suspended"
	case StateRecovered:
		return "recovered"
	case StateURSKRefreshNeeded:
		return "URSK refresh needed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("SessionState(%d)", uint8(s))
}

// CanRange reports whether the UWB chips may range in state s.
func (s SessionState) CanRange() bool { return s == StateEstablished || s == StateRecovered }

// Session is an established ranging session, on either side: the agreed
// parameters, the state and the UWB key schedule of its URSK. It is safe for
// concurrent use.
type Session struct {
	mu     sync.Mutex
	params SessionParams
	state  SessionState
	keys   *KeySchedule
	store  KeyStore
}

// newSession fetches the URSK of p.SessionID from store and builds the
// session's key schedule.
func newSession(p *SessionParams, store KeyStore, profile SaltProfile) (*Session, error) {
	var k URSK
	defer k.Clear()
	if err := store.RangingKey(p.SessionID, &k); err != nil {
		return nil, err
	}
	ks, err := NewKeySchedule(&k, profile)
	if err != nil {
		return nil, err
	}
	if err := ks.Setup(p); err != nil {
		ks.Close()
		return nil, err
	}
	return &Session{params: *p, state: StateEstablished, keys: ks, store: store}, nil
}

// Params returns the agreed parameters, as last updated by a recovery.
func (s *Session) Params() SessionParams {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params
}

// State returns the session's state.
func (s *Session) State() SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// RoundKeys derives the keys of the ranging round with STS index sts
// ([KeySchedule.RoundKeys]). It fails with [ErrSessionState] unless the
// session may range.
func (s *Session) RoundKeys(sts uint32, out *RoundKeys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.state.CanRange() {
		return fmt.Errorf("%w: round keys in state %v", ErrSessionState, s.state)
	}
	return s.keys.RoundKeys(sts, out)
}

// UAD returns the address block of the current setup or recovery.
func (s *Session) UAD() (UAD, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		return UAD{}, false
	}
	return s.keys.UAD()
}

// CheckKey looks the session's URSK up again. When it is gone (missing,
// expired, revoked) the session moves to [StateURSKRefreshNeeded] and
// CheckKey returns the key store's error. Drivers call it periodically and
// before they restart ranging.
func (s *Session) CheckKey() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkKeyLocked()
}

func (s *Session) checkKeyLocked() error {
	if s.state == StateClosed || s.state == StateURSKRefreshNeeded {
		return fmt.Errorf("%w: session is %v", ErrSessionState, s.state)
	}
	var k URSK
	err := s.store.RangingKey(s.params.SessionID, &k)
	k.Clear()
	if err != nil {
		if errors.Is(err, ErrNoRangingKey) || errors.Is(err, ErrRangingKeyExpired) || errors.Is(err, ErrRangingKeyRevoked) {
			s.state = StateURSKRefreshNeeded
			s.keys.Close()
		}
		return err
	}
	return nil
}

// suspend moves the session to StateSuspended.
func (s *Session) suspend() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case StateEstablished, StateRecovered, StateSuspended:
		s.state = StateSuspended
		return nil
	}
	return fmt.Errorf("%w: suspend in state %v", ErrSessionState, s.state)
}

// recover applies the values of a recovery: a new STS_Index0 and UWB_Time0
// and, for a configurable recovery, a new RAN multiplier (0: unchanged). It
// checks the URSK first.
func (s *Session) recover(sts0 uint32, time0 uint64, ran uint8) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case StateEstablished, StateRecovered, StateSuspended:
	default:
		return fmt.Errorf("%w: recovery in state %v", ErrSessionState, s.state)
	}
	if err := s.checkKeyLocked(); err != nil {
		return err
	}
	p := s.params
	p.STSIndex0, p.UWBTime0 = sts0, time0
	if ran != 0 {
		p.RANMultiplier = ran
	}
	if err := s.keys.Setup(&p); err != nil {
		return err
	}
	s.params = p
	s.state = StateRecovered
	return nil
}

// Close ends the session and zeroizes its keys. Close is idempotent.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys != nil {
		s.keys.Close()
	}
	s.state = StateClosed
}

// String describes the session without its keys.
func (s *Session) String() string {
	p := s.Params()
	return fmt.Sprintf("ranging.Session{%v, %v, version %v, config %v, %v, RAN %d, %d chaps, %d responders, %d slots, %v, SYNC %d}",
		p.SessionID, s.State(), p.Version, p.ConfigID, p.Channel, p.RANMultiplier, p.ChapsPerSlot,
		p.Responders, p.SlotsPerRound, p.Hopping, p.SyncCode)
}
