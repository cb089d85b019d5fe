package keyservice

import "sync"

// Subscriptions is the registry behind Store.Subscribe, for the stores: the
// subscribers of each recipient and their wake-up channels. Its zero value
// is empty and ready; it is safe for concurrent use.
type Subscriptions struct {
	mu   sync.Mutex
	subs map[Recipient]map[chan struct{}]struct{}
}

// Subscribe implements Store.Subscribe.
func (s *Subscriptions) Subscribe(r Recipient) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	if s.subs == nil {
		s.subs = make(map[Recipient]map[chan struct{}]struct{})
	}
	m := s.subs[r]
	if m == nil {
		m = make(map[chan struct{}]struct{})
		s.subs[r] = m
	}
	m[ch] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.subs[r], ch)
			if len(s.subs[r]) == 0 {
				delete(s.subs, r)
			}
		})
	}
}

// wake sends on ch unless a value is already waiting there: values
// coalesce.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Notify wakes the subscribers of each recipient.
func (s *Subscriptions) Notify(rs ...Recipient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		for ch := range s.subs[r] {
			wake(ch)
		}
	}
}

// NotifyAll wakes every subscriber, after something that may have lost
// notifications.
func (s *Subscriptions) NotifyAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.subs {
		for ch := range m {
			wake(ch)
		}
	}
}
