package keyservice

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"time"

	"github.com/opencarkey/sdk/sharing"
)

// The relay (docs/protocol.md §6.3; sharing.Relay over HTTP). A device creates
// a mailbox; everything else is authorised by the mailbox's tokens, carried
// in the Authorization header, so that a friend's device without any key
// yet reaches it.

func hashIs(a, b TokenHash) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// mailboxAccess returns the mailbox of the path and the hash of the token
// of the request.
func mailboxAccess(r *http.Request) (sharing.MailboxID, TokenHash, error) {
	id, err := sharing.ParseMailboxID(r.PathValue("id"))
	if err != nil {
		return id, TokenHash{}, err
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return id, TokenHash{}, refuse(CodeUnauthenticated, "a mailbox token is required (Authorization: Bearer)")
	}
	tok, err := ParseAuthorization(h)
	if err != nil {
		return id, TokenHash{}, err
	}
	return id, HashToken(tok), nil
}

// liveMailbox returns the mailbox id unless it is gone or expired.
func (s *Server) liveMailbox(tx Tx, id sharing.MailboxID) (*Mailbox, error) {
	m, err := tx.Mailbox(id)
	if errors.Is(err, ErrNotFound) || (err == nil && s.now().After(m.Expires)) {
		return nil, refuse(CodeNotFound, "no mailbox %v", id)
	}
	return m, err
}

func (s *Server) createMailbox(w http.ResponseWriter, r *http.Request) error {
	client, err := device(r)
	if err != nil {
		return err
	}
	req, err := parseBody(r, CBORType, ParseMailboxRequest)
	if err != nil {
		return err
	}
	if err := sharing.CheckNewMailbox(&sharing.NewMailbox{Content: req.Content, Display: req.Display, Expires: req.Expires}, s.now()); err != nil {
		return err
	}
	var c MailboxCreated
	if c.ID, err = sharing.NewMailboxID(); err != nil {
		return err
	}
	if c.Sender, err = sharing.NewAccessToken(); err != nil {
		return err
	}
	if c.Fetch, err = sharing.NewAccessToken(); err != nil {
		return err
	}
	m := &Mailbox{
		ID: c.ID, Sender: client.Device, Expires: req.Expires, Display: req.Display, SenderContent: req.Content,
		SenderToken: HashToken(c.Sender), FetchToken: HashToken(c.Fetch),
	}
	err = s.store.Update(r.Context(), func(tx Tx) error {
		n, err := tx.SenderMailboxes(client.Device)
		if err != nil {
			return err
		}
		if n >= s.maxMailbox {
			return refuse(CodeCapacity, "the device has %d mailboxes, at most %d", n, s.maxMailbox)
		}
		return tx.PutMailbox(m)
	})
	if err != nil {
		return err
	}
	return writeCBOR(w, http.StatusCreated, &c)
}

func (s *Server) readDisplay(w http.ResponseWriter, r *http.Request) error {
	id, tok, err := mailboxAccess(r)
	if err != nil {
		return err
	}
	var display []byte
	err = s.store.View(r.Context(), func(tx Tx) error {
		m, err := s.liveMailbox(tx, id)
		if err != nil {
			return err
		}
		if !hashIs(tok, m.SenderToken) && !(!m.Fetched() && hashIs(tok, m.FetchToken)) && !(m.Fetched() && hashIs(tok, m.ReceiverToken)) {
			return refuse(CodeAccessDenied, "not a token of mailbox %v", id)
		}
		display = m.Display
		return nil
	})
	if err != nil {
		return err
	}
	return writeBody(w, http.StatusOK, ContentType, display)
}

func (s *Server) fetchInvitation(w http.ResponseWriter, r *http.Request) error {
	id, tok, err := mailboxAccess(r)
	if err != nil {
		return err
	}
	recv, err := sharing.NewAccessToken()
	if err != nil {
		return err
	}
	var out Fetched
	err = s.store.Update(r.Context(), func(tx Tx) error {
		m, err := s.liveMailbox(tx, id)
		if err != nil {
			return err
		}
		if m.Fetched() || !hashIs(tok, m.FetchToken) {
			return refuse(CodeAccessDenied, "not the fetch token of mailbox %v, or already used", id)
		}
		// Delivered: the relay keeps the invitation no longer.
		out = Fetched{Content: m.SenderContent, Receiver: recv}
		m.SenderContent, m.ReceiverToken = nil, HashToken(recv)
		return tx.PutMailbox(m)
	})
	if err != nil {
		return err
	}
	return writeCBOR(w, http.StatusOK, &out)
}

func (s *Server) readContent(w http.ResponseWriter, r *http.Request) error {
	id, tok, err := mailboxAccess(r)
	if err != nil {
		return err
	}
	var content []byte
	err = s.store.View(r.Context(), func(tx Tx) error {
		m, err := s.liveMailbox(tx, id)
		if err != nil {
			return err
		}
		switch {
		case hashIs(tok, m.SenderToken):
			content = m.ReceiverContent
		case m.Fetched() && hashIs(tok, m.ReceiverToken):
			content = m.SenderContent
		default:
			return refuse(CodeAccessDenied, "not a token of mailbox %v", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if content == nil {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return writeBody(w, http.StatusOK, ContentType, content)
}

func (s *Server) updateContent(w http.ResponseWriter, r *http.Request) error {
	id, tok, err := mailboxAccess(r)
	if err != nil {
		return err
	}
	content, err := readBody(r, ContentType)
	if err != nil {
		return err
	}
	if err := sharing.CheckContent(content); err != nil {
		return err
	}
	err = s.store.Update(r.Context(), func(tx Tx) error {
		m, err := s.liveMailbox(tx, id)
		if err != nil {
			return err
		}
		switch {
		case hashIs(tok, m.SenderToken):
			m.SenderContent = content
		case m.Fetched() && hashIs(tok, m.ReceiverToken):
			m.ReceiverContent = content
		default:
			return refuse(CodeAccessDenied, "not a token of mailbox %v", id)
		}
		return tx.PutMailbox(m)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteMailbox(w http.ResponseWriter, r *http.Request) error {
	id, tok, err := mailboxAccess(r)
	if err != nil {
		return err
	}
	err = s.store.Update(r.Context(), func(tx Tx) error {
		m, err := s.liveMailbox(tx, id)
		if err != nil {
			return err
		}
		if !hashIs(tok, m.SenderToken) && !(m.Fetched() && hashIs(tok, m.ReceiverToken)) {
			return refuse(CodeAccessDenied, "not a token of mailbox %v", id)
		}
		return tx.DeleteMailbox(id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Expire deletes the expired mailboxes, in batches of 1000, and returns
// how many it deleted.
func (s *Server) Expire(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx Tx) error {
			var err error
			n, err = tx.ExpireMailboxes(s.now(), 1000)
			return err
		})
		total += n
		if err != nil || n < 1000 {
			return total, err
		}
	}
}

// RunJanitor calls Expire every interval until ctx is done, and returns
// ctx's error. An interval of zero or less means DefaultJanitorInterval,
// as Config's durations do. Errors of Expire are retried at the next
// interval; onError, when not nil, sees them.
func (s *Server) RunJanitor(ctx context.Context, interval time.Duration, onError func(error)) error {
	t := time.NewTicker(janitorInterval(interval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := s.Expire(ctx); err != nil && onError != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}

// janitorInterval returns the interval RunJanitor ticks at: interval, or
// DefaultJanitorInterval when it is zero or less (time.NewTicker panics on
// those).
func janitorInterval(interval time.Duration) time.Duration {
	if interval <= 0 {
		return DefaultJanitorInterval
	}
	return interval
}
