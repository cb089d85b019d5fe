package keyservice

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/sharing"
)

// Defaults of Config.
const (
	DefaultMaxWait               = 30 * time.Second
	DefaultPollInterval          = 30 * time.Second
	DefaultMaxMailboxesPerDevice = 64
	DefaultMaxCommandAge         = 24 * time.Hour
	// DefaultJanitorInterval is the interval of RunJanitor when it is
	// given zero or a negative one, as Config treats its durations.
	DefaultJanitorInterval = time.Minute
	// maxClockSkew is how far in the future a signed command may be
	// dated.
	maxClockSkew = 5 * time.Minute
)

// Media types of the bodies.
const (
	// CBORType is the media type of the API's bodies (RFC 8949 §9.5).
	CBORType = "application/cbor"
	// COSEType is the media type of receipts and termination attestations
	// (RFC 9052 §11.2).
	COSEType = "application/cose"
	// ContentType is the media type of sealed relay content.
	ContentType = "application/octet-stream"
)

// Config configures a Server. A Config must not be modified after use.
type Config struct {
	// Store holds the service's state; required.
	Store Store
	// Certificates holds the trust anchors of the clients: DeviceRoots for
	// endpoint chains, VehicleRoots for vehicle chains. Its Time, when nil,
	// is Config.Time. Required.
	Certificates *cert.Config
	// TrackingKey signs key tracking receipts (attest.TrackingReceipt); a
	// P-256 key. Vehicles verify receipts with its public key. Required.
	TrackingKey crypto.Signer
	// Time returns the current time; nil means time.Now.
	Time func() time.Time
	// Hooks, when set, observe refusals and commands; cmd/dkserver logs
	// them.
	Hooks *Hooks
	// MaxWait bounds the wait of a long poll for commands; 0 means
	// DefaultMaxWait. The HTTP server's write timeout allows for it.
	MaxWait time.Duration
	// PollInterval is how often a waiting long poll reads its queue again
	// even without a notification from the store: a safety net, since the
	// stores wake every subscriber after anything that could have lost a
	// notification (pgstore after its listener reconnects). Each waiting
	// recipient costs a read per interval. 0 means DefaultPollInterval.
	PollInterval time.Duration
	// MaxMailboxesPerDevice bounds the relay mailboxes one device has at
	// once; 0 means DefaultMaxMailboxesPerDevice.
	MaxMailboxesPerDevice int
	// MaxCommandAge is how old a signed command may be; the service keeps
	// the identifiers of the commands it accepted at least that long, so
	// a replay is refused either way. 0 means DefaultMaxCommandAge.
	MaxCommandAge time.Duration
}

// Hooks observe the service, like net/http/httptrace: each nil field is
// skipped. They are called synchronously; they must not block.
type Hooks struct {
	// Refused is called after every refusal, with the error body sent.
	Refused func(*Rejection)
	// Accepted is called after a command was stored and queued.
	Accepted func(*CommandEvent)
	// Acknowledged is called after a recipient acknowledged commands.
	Acknowledged func(*AckEvent)
}

// Rejection is a refused request.
type Rejection struct {
	Method, Path string
	// Client is the authenticated client, nil if none.
	Client *Identity
	// Error is the body sent.
	Error *Error
	// Cause is the error behind it, when there is more to it than the
	// body says (a store failure, a verification detail).
	Cause error
}

// CommandEvent is a command the service accepted.
type CommandEvent struct {
	ID         CommandID
	Action     sharing.KeyAction
	Vehicle    dkey.VehicleID
	Slot       dkey.KeySlot
	Recipients []Recipient
	Client     *Identity
}

// AckEvent is an acknowledgement of commands.
type AckEvent struct {
	Recipient Recipient
	Through   uint64
	Refused   []Refusal
}

// Server is the key service: an http.Handler over a Store. It holds no
// state of its own beyond its configuration, so any number of them may
// share a store (keyservice/pgstore) behind a load balancer.
type Server struct {
	store       Store
	certs       *cert.Config
	trackingKey crypto.Signer
	now         func() time.Time
	hooks       Hooks
	maxWait     time.Duration
	poll        time.Duration
	maxMailbox  int
	maxAge      time.Duration
	mux         *http.ServeMux
}

// New returns a server for cfg.
func New(cfg *Config) (*Server, error) {
	switch {
	case cfg == nil || cfg.Store == nil:
		return nil, errors.New("keyservice: no store")
	case cfg.Certificates == nil:
		return nil, errors.New("keyservice: no trust anchors for client certificates")
	case cfg.TrackingKey == nil:
		return nil, errors.New("keyservice: no tracking key")
	}
	if _, err := dkey.PublicKeyOf(cfg.TrackingKey); err != nil {
		return nil, fmt.Errorf("keyservice: tracking key: %w", err)
	}
	s := &Server{
		store: cfg.Store, trackingKey: cfg.TrackingKey, now: cfg.Time,
		maxWait: cfg.MaxWait, poll: cfg.PollInterval, maxMailbox: cfg.MaxMailboxesPerDevice, maxAge: cfg.MaxCommandAge,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Hooks != nil {
		s.hooks = *cfg.Hooks
	}
	s.certs = cfg.Certificates.Clone()
	if s.certs.Time == nil {
		s.certs.Time = s.now
	}
	if s.maxWait <= 0 {
		s.maxWait = DefaultMaxWait
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	if s.maxMailbox <= 0 {
		s.maxMailbox = DefaultMaxMailboxesPerDevice
	}
	if s.maxAge <= 0 {
		s.maxAge = DefaultMaxCommandAge
	}
	s.routes()
	return s, nil
}

// Body limits of the endpoints.
const (
	limitEmpty     = 0
	limitMailbox   = sharing.MaxSealedSize + sharing.MaxDisplaySize + 64
	limitContent   = sharing.MaxSealedSize
	limitTrack     = 256
	limitReport    = MaxInventoryKeys * 128
	limitCommand   = sharing.MaxSignedCommandSize
	limitStatement = 1024 // attest.MaxStatementSize
	limitAck       = 32 + MaxDeliveries*(16+maxReason)
	limitState     = 64
)

// The API (doc.go, "API").
func (s *Server) routes() {
	m := http.NewServeMux()
	handle := func(pattern string, limit int64, h func(http.ResponseWriter, *http.Request) error) {
		m.Handle(pattern, s.wrap(limit, h))
	}
	handle("GET /v1/health", limitEmpty, s.health)

	handle("POST /v1/relay/mailboxes", limitMailbox, s.createMailbox)
	handle("GET /v1/relay/mailboxes/{id}/display", limitEmpty, s.readDisplay)
	handle("POST /v1/relay/mailboxes/{id}/fetch", limitEmpty, s.fetchInvitation)
	handle("GET /v1/relay/mailboxes/{id}/content", limitEmpty, s.readContent)
	handle("PUT /v1/relay/mailboxes/{id}/content", limitContent, s.updateContent)
	handle("DELETE /v1/relay/mailboxes/{id}", limitEmpty, s.deleteMailbox)

	handle("POST /v1/keys", limitTrack, s.trackKey)
	handle("PUT /v1/vehicles/{vehicle}/keys", limitReport, s.reportKeys)
	handle("GET /v1/vehicles/{vehicle}/keys", limitEmpty, s.listKeys)

	handle("POST /v1/commands", limitCommand, s.postCommand)
	handle("POST /v1/vehicles/{vehicle}/terminations", limitStatement, s.postTermination)
	handle("POST /v1/devices/{device}/state", limitState, s.deviceState)
	handle("GET /v1/vehicles/{vehicle}/commands", limitEmpty, s.waitVehicle)
	handle("POST /v1/vehicles/{vehicle}/commands/ack", limitAck, s.ackVehicle)
	handle("GET /v1/devices/{device}/commands", limitEmpty, s.waitDevice)
	handle("POST /v1/devices/{device}/commands/ack", limitAck, s.ackDevice)

	m.Handle("/", s.wrap(limitEmpty, s.notFound))
	s.mux = m
}

// Handler returns the service's HTTP handler. It needs the connection
// context that HTTPServer sets (ConnContext) for client certificates;
// without it every client is anonymous.
func (s *Server) Handler() http.Handler { return s.mux }

// HTTPServer returns an http.Server for the service: its handler, the TLS
// configuration of TLSConfig(base), the connection context the
// authentication needs, and the limits: request headers within 10 s and 16
// KiB, bodies within 30 s, responses within the longest wait plus 30 s,
// idle connections closed after 2 minutes. Serve it with ServeTLS(ln, "",
// ""). Its ErrorLog is nil (the standard logger): cmd/dkserver sets it.
func (s *Server) HTTPServer(base *tls.Config) *http.Server {
	return &http.Server{
		Handler:           s.mux,
		TLSConfig:         s.TLSConfig(base),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.maxWait + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       connContext,
	}
}

// wrap applies the body limit and turns a handler's error into a typed
// error body.
func (s *Server) wrap(limit int64, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit || (limit == 0 && r.ContentLength != 0) {
			s.fail(w, r, refuse(CodeTooLarge, "body of %d bytes, at most %d here", r.ContentLength, limit))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// fail sends the error body for err and reports the refusal.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	var ce *causeError
	var mb *http.MaxBytesError
	cause := err
	switch {
	case errors.As(err, &ce):
		e, cause = ce.e, ce.cause
	case errors.As(err, &e):
		if err == error(e) {
			cause = nil
		}
	case errors.As(err, &mb):
		e = refuse(CodeTooLarge, "body over %d bytes", mb.Limit)
	case errors.Is(err, ErrMalformed), errors.Is(err, sharing.ErrMalformed):
		e = refuse(CodeMalformed, "%v", err)
	case errors.Is(err, ErrCapacity):
		e = refuse(CodeCapacity, "%v", err)
	case errors.Is(err, ErrCorrupt):
		e = refuse(CodeInternal, "a stored record does not parse")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; there is nobody to answer.
		e = refuse(CodeUnavailable, "request cancelled")
	default:
		e = refuse(CodeUnavailable, "the store failed; retry")
	}
	if s.hooks.Refused != nil {
		id, _ := identity(r.Context())
		s.hooks.Refused(&Rejection{Method: r.Method, Path: r.URL.Path, Client: id, Error: e, Cause: cause})
	}
	body, _ := e.MarshalJSON()
	h := w.Header()
	h.Set("Content-Type", ProblemType)
	h.Set("Cache-Control", "no-store")
	if e.Code == CodeMethodNotAllowed {
		if allow := s.allowed(r); allow != "" {
			h.Set("Allow", allow)
		}
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// causeError is a refusal whose cause the hooks see but the client does
// not.
type causeError struct {
	e     *Error
	cause error
}

func (c *causeError) Error() string { return c.e.Error() + ": " + c.cause.Error() }
func (c *causeError) Unwrap() error { return c.e }

// refuseCause returns the refusal e with a cause for the hooks.
func refuseCause(e *Error, cause error) error { return &causeError{e: e, cause: cause} }

// writeBody sends a success with a body of media type typ.
func writeBody(w http.ResponseWriter, status int, typ string, b []byte) error {
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// An error writing means the client went away, with the response
	// under way: there is nothing else to send.
	_, _ = w.Write(b)
	return nil
}

// writeCBOR sends v, a type of this package, as a CBOR body.
func writeCBOR(w http.ResponseWriter, status int, v interface{ MarshalBinary() ([]byte, error) }) error {
	b, err := v.MarshalBinary()
	if err != nil {
		return refuseCause(refuse(CodeInternal, "encoding the answer"), err)
	}
	return writeBody(w, status, CBORType, b)
}

// readBody reads the body of a request of media type typ.
func readBody(r *http.Request, typ string) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != typ {
		return nil, refuse(CodeUnsupportedMediaType, "the body must be %s", typ)
	}
	return io.ReadAll(r.Body)
}

// parseBody reads the body of a request of media type typ and parses it.
func parseBody[T any](r *http.Request, typ string, parse func([]byte) (T, error)) (T, error) {
	b, err := readBody(r, typ)
	if err != nil {
		var zero T
		return zero, err
	}
	return parse(b)
}

// device returns the client, which must be a device.
func device(r *http.Request) (*Identity, error) {
	id, err := identity(r.Context())
	if err != nil {
		return nil, refuseCause(refuse(CodeUnauthenticated, "a device client certificate is required"), err)
	}
	if id.Role != RoleDevice {
		return nil, refuse(CodeForbidden, "only devices may do this")
	}
	return id, nil
}

// vehicle returns the client, which must be the vehicle v.
func vehicleClient(r *http.Request, v dkey.VehicleID) (*Identity, error) {
	id, err := identity(r.Context())
	if err != nil {
		return nil, refuseCause(refuse(CodeUnauthenticated, "a vehicle client certificate is required"), err)
	}
	if id.Role != RoleVehicle || !id.Vehicle.Equal(v) {
		return nil, refuse(CodeForbidden, "only vehicle %v may do this", v)
	}
	return id, nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return refuseCause(refuse(CodeUnavailable, "the store does not answer"), err)
	}
	b, _ := json.Marshal(map[string]string{"status": "ok"})
	return writeBody(w, http.StatusOK, "application/json", b)
}

// methods are the methods the API uses, for the Allow header.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}

// allowed returns the methods the path of r has, comma-separated.
func (s *Server) allowed(r *http.Request) string {
	var allow string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			if allow != "" {
				allow += ", "
			}
			allow += m
		}
	}
	return allow
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	if s.allowed(r) != "" {
		return refuse(CodeMethodNotAllowed, "%s is not allowed on %s", r.Method, r.URL.Path)
	}
	return refuse(CodeNotFound, "no endpoint %s", r.URL.Path)
}
