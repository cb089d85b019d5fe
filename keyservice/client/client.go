// Package client is the HTTP client of the key service (package
// keyservice): it implements sharing.Relay and sharing.KeyServer, so that
// device and vehicle code use the service through the same interfaces as
// sharing's in-memory versions, and it runs the command loop of a vehicle
// or a device (Run): wait for commands by long poll, apply each, and
// acknowledge after the apply returned.
//
// A device's client authenticates with its endpoint certificate chain and
// key (the key in its secure element, as a crypto.Signer); the same key
// signs the commands ManageKey sends (sharing.SignCommand). A vehicle's
// client authenticates with its vehicle certificate chain. A client
// without a certificate reaches the relay's token endpoints and
// terminations only, which is what a friend's device needs before it has
// a key.
//
// Errors of the service come back as *keyservice.Error, which errors.Is
// matches against the sentinels of sharing.Relay's and
// sharing.KeyServer's contracts (sharing.ErrNotFound,
// sharing.ErrAccessDenied, ...).
package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

// DefaultTimeout bounds a call that does not wait for commands.
const DefaultTimeout = 30 * time.Second

// maxResponse bounds a response body.
const maxResponse = 64 << 10

// Config configures a Client. A Config must not be modified after use.
type Config struct {
	// URL is the service's base URL, such as "https://keys.example".
	URL string
	// Certificate is the client's certificate chain, leaf first, without
	// the root, and its private key (a crypto.Signer; for a device, the
	// endpoint key in its secure element). Nil makes an anonymous client.
	Certificate *tls.Certificate
	// RootCAs verifies the service's certificate; nil means the system
	// roots.
	RootCAs *x509.CertPool
	// Transport, when set, carries the requests instead of a transport
	// built from Certificate and RootCAs (tests, proxies).
	Transport http.RoundTripper
	// Timeout bounds each call that does not wait for commands; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Time returns the current time, when commands are signed; nil means
	// time.Now.
	Time func() time.Time
}

// Client is a client of the key service. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	now     func() time.Time

	// From the certificate.
	role    keyservice.Role
	vehicle dkey.VehicleID
	slot    dkey.KeySlot
	device  sharing.DeviceID
	signer  crypto.Signer
}

var (
	_ sharing.Relay     = (*Client)(nil)
	_ sharing.KeyServer = (*Client)(nil)
)

// New returns a client for cfg.
func New(cfg *Config) (*Client, error) {
	if cfg == nil || cfg.URL == "" {
		return nil, errors.New("client: no service URL")
	}
	u, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: service URL %q", cfg.URL)
	}
	c := &Client{base: u, timeout: cfg.Timeout, now: cfg.Time}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.now == nil {
		c.now = time.Now
	}
	if cfg.Certificate != nil {
		if err := c.identify(cfg.Certificate); err != nil {
			return nil, err
		}
	}
	rt := cfg.Transport
	if rt == nil {
		tc := &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		if cfg.Certificate != nil {
			tc.Certificates = []tls.Certificate{*cfg.Certificate}
		}
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			TLSClientConfig:       tc,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	c.http = &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c, nil
}

// identify learns who the certificate says the client is, as the service
// will: a device (endpoint extension) or a vehicle (vehicle extension, the
// identifier in the subject's serialNumber).
func (c *Client) identify(tc *tls.Certificate) error {
	if len(tc.Certificate) == 0 {
		return errors.New("client: empty certificate chain")
	}
	leaf, err := x509.ParseCertificate(tc.Certificate[0])
	if err != nil {
		return fmt.Errorf("client: certificate: %w", err)
	}
	signer, ok := tc.PrivateKey.(crypto.Signer)
	if !ok {
		return errors.New("client: the certificate's key is not a crypto.Signer")
	}
	for _, e := range leaf.Extensions {
		switch {
		case e.Id.Equal(cert.KindEndpoint.OID()):
			ext, err := cert.ParseEndpointExtension(e.Value)
			if err != nil {
				return fmt.Errorf("client: certificate: %w", err)
			}
			if len(tc.Certificate) < 2 {
				return errors.New("client: an endpoint chain needs its instance CA")
			}
			ica, err := x509.ParseCertificate(tc.Certificate[1])
			if err != nil {
				return fmt.Errorf("client: instance CA: %w", err)
			}
			pub, _ := ica.PublicKey.(*ecdsa.PublicKey)
			k, err := dkey.NewPublicKey(pub)
			if pub == nil || err != nil {
				return errors.New("client: instance CA key is not P-256")
			}
			c.role, c.vehicle, c.slot, c.device, c.signer = keyservice.RoleDevice, ext.VehicleID, ext.InitialKeySlot, sharing.DeviceIDOf(k), signer
			return nil
		case e.Id.Equal(cert.KindVehicle.OID()):
			b, err := hex.DecodeString(leaf.Subject.SerialNumber)
			if err != nil {
				return errors.New("client: vehicle certificate without the identifier in its serialNumber")
			}
			if c.vehicle, err = dkey.NewVehicleID(b); err != nil {
				return fmt.Errorf("client: vehicle certificate: %w", err)
			}
			c.role, c.signer = keyservice.RoleVehicle, signer
			return nil
		}
	}
	return errors.New("client: the certificate is neither an endpoint nor a vehicle certificate")
}

// Role returns who the client is: keyservice.RoleVehicle,
// keyservice.RoleDevice, or 0 when anonymous.
func (c *Client) Role() keyservice.Role { return c.role }

// Device returns the client's device, for a device.
func (c *Client) Device() sharing.DeviceID { return c.device }

// Vehicle returns the client's vehicle: the vehicle's own, or the one its
// endpoint certificate binds.
func (c *Client) Vehicle() dkey.VehicleID { return c.vehicle }

// response is a success.
type response struct {
	status int
	typ    string
	body   []byte
}

// do sends a request and returns a success, or the service's
// *keyservice.Error, or the transport's error.
func (c *Client) do(ctx context.Context, method, path string, header http.Header, typ string, body []byte, timeout time.Duration) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := *c.base
	p, q, _ := strings.Cut(path, "?")
	u.Path += p
	u.RawQuery = q
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if typ != "" {
		req.Header.Set("Content-Type", typ)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: reading the response: %w", method, p, err)
	}
	if len(b) > maxResponse {
		return nil, fmt.Errorf("client: %s %s: response over %d bytes", method, p, maxResponse)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode >= 300 {
		if mt == keyservice.ProblemType {
			if e, err := keyservice.ParseError(b); err == nil {
				return nil, e
			}
		}
		code := keyservice.CodeInternal
		if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout {
			code = keyservice.CodeUnavailable
		}
		return nil, &keyservice.Error{Status: resp.StatusCode, Code: code, Detail: "no error body: " + resp.Status}
	}
	return &response{status: resp.StatusCode, typ: mt, body: b}, nil
}

// expect checks a success's media type.
func (r *response) expect(typ string) ([]byte, error) {
	if r.typ != typ {
		return nil, fmt.Errorf("%w: a %s body, want %s", keyservice.ErrMalformed, r.typ, typ)
	}
	return r.body, nil
}

func tokenHeader(t sharing.AccessToken) http.Header {
	return http.Header{"Authorization": {keyservice.AuthorizationHeader(t)}}
}

func mailboxPath(id sharing.MailboxID, rest string) string {
	return "/v1/relay/mailboxes/" + id.String() + rest
}

// Health checks that the service and its store answer.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/v1/health", nil, "", nil, c.timeout)
	return err
}

// CreateMailbox implements sharing.Relay. The client must be a device.
func (c *Client) CreateMailbox(ctx context.Context, m *sharing.NewMailbox) (*sharing.CreatedMailbox, error) {
	if err := sharing.CheckNewMailbox(m, c.now()); err != nil {
		return nil, err
	}
	body, err := (&keyservice.MailboxRequest{Content: m.Content, Display: m.Display, Expires: m.Expires}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	r, err := c.do(ctx, http.MethodPost, "/v1/relay/mailboxes", nil, keyservice.CBORType, body, c.timeout)
	if err != nil {
		return nil, err
	}
	b, err := r.expect(keyservice.CBORType)
	if err != nil {
		return nil, err
	}
	created, err := keyservice.ParseMailboxCreated(b)
	if err != nil {
		return nil, err
	}
	return (*sharing.CreatedMailbox)(created), nil
}

// ReadDisplayInformation implements sharing.Relay.
func (c *Client) ReadDisplayInformation(ctx context.Context, id sharing.MailboxID, tok sharing.AccessToken) ([]byte, error) {
	r, err := c.do(ctx, http.MethodGet, mailboxPath(id, "/display"), tokenHeader(tok), "", nil, c.timeout)
	if err != nil {
		return nil, err
	}
	b, err := r.expect(keyservice.ContentType)
	if err != nil {
		return nil, err
	}
	if len(b) > sharing.MaxDisplaySize {
		return nil, fmt.Errorf("%w: display information of %d bytes", keyservice.ErrMalformed, len(b))
	}
	if len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// FetchInvitation implements sharing.Relay.
func (c *Client) FetchInvitation(ctx context.Context, id sharing.MailboxID, fetch sharing.AccessToken) ([]byte, sharing.AccessToken, error) {
	r, err := c.do(ctx, http.MethodPost, mailboxPath(id, "/fetch"), tokenHeader(fetch), "", nil, c.timeout)
	if err != nil {
		return nil, sharing.AccessToken{}, err
	}
	b, err := r.expect(keyservice.CBORType)
	if err != nil {
		return nil, sharing.AccessToken{}, err
	}
	f, err := keyservice.ParseFetched(b)
	if err != nil {
		return nil, sharing.AccessToken{}, err
	}
	return f.Content, f.Receiver, nil
}

// ReadSecureContent implements sharing.Relay.
func (c *Client) ReadSecureContent(ctx context.Context, id sharing.MailboxID, tok sharing.AccessToken) ([]byte, error) {
	r, err := c.do(ctx, http.MethodGet, mailboxPath(id, "/content"), tokenHeader(tok), "", nil, c.timeout)
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusNoContent {
		return nil, nil
	}
	b, err := r.expect(keyservice.ContentType)
	if err != nil {
		return nil, err
	}
	if err := sharing.CheckContent(b); err != nil {
		return nil, err
	}
	return b, nil
}

// UpdateMailbox implements sharing.Relay.
func (c *Client) UpdateMailbox(ctx context.Context, id sharing.MailboxID, tok sharing.AccessToken, content []byte) error {
	if err := sharing.CheckContent(content); err != nil {
		return err
	}
	_, err := c.do(ctx, http.MethodPut, mailboxPath(id, "/content"), tokenHeader(tok), keyservice.ContentType, content, c.timeout)
	return err
}

// DeleteMailbox implements sharing.Relay.
func (c *Client) DeleteMailbox(ctx context.Context, id sharing.MailboxID, tok sharing.AccessToken) error {
	_, err := c.do(ctx, http.MethodDelete, mailboxPath(id, ""), tokenHeader(tok), "", nil, c.timeout)
	return err
}

// TrackKey implements sharing.KeyServer: it registers the client's own key
// (the service takes the device from the certificate; req.Device must be
// zero or the client's) and returns the tracking receipt. Registering again
// returns the same receipt.
func (c *Client) TrackKey(ctx context.Context, req *sharing.TrackRequest) ([]byte, error) {
	if req == nil || req.Key == nil {
		return nil, fmt.Errorf("%w: track request needs a vehicle, a slot and a key", sharing.ErrMalformed)
	}
	if req.Device != (sharing.DeviceID{}) && req.Device != c.device {
		return nil, errors.New("client: a device registers its own keys: the request names another device")
	}
	body, err := (&keyservice.TrackKeyRequest{Vehicle: req.Vehicle, Slot: req.Slot, Key: req.Key, Role: req.Role}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	r, err := c.do(ctx, http.MethodPost, "/v1/keys", nil, keyservice.CBORType, body, c.timeout)
	if err != nil {
		return nil, err
	}
	return r.expect(keyservice.COSEType)
}

// ManageKey implements sharing.KeyServer. A termination goes as its
// termination attestation, which is its authority (the service files it
// under the attestation's ID, not cmd.ID); a suspension or resumption goes
// signed by the client's key (sharing.SignCommand), which the service
// checks against the vehicle's inventory. A command the service accepted
// before (a retry) is not an error.
func (c *Client) ManageKey(ctx context.Context, cmd *sharing.KeyCommand) error {
	if cmd == nil {
		return fmt.Errorf("%w: no command", sharing.ErrMalformed)
	}
	if cmd.Action == sharing.ActionTerminate {
		_, err := c.Terminate(ctx, cmd.Vehicle, cmd.Termination)
		return err
	}
	if c.role != keyservice.RoleDevice {
		return errors.New("client: only a device's key signs commands")
	}
	signed, err := sharing.SignCommand(cmd, c.signer, c.slot, c.now())
	if err != nil {
		return err
	}
	_, err = c.PostCommand(ctx, signed)
	return err
}

// PostCommand posts a signed command (sharing.SignCommand) and returns its
// identifier. A command the service accepted before is not an error.
func (c *Client) PostCommand(ctx context.Context, signed []byte) (keyservice.CommandID, error) {
	r, err := c.do(ctx, http.MethodPost, "/v1/commands", nil, keyservice.CBORType, signed, c.timeout)
	return accepted(r, err, signed)
}

// Terminate posts a termination attestation for vehicle and returns the
// command's identifier (the attestation's ID). A termination the service
// accepted before is not an error. No certificate is needed: a key that
// deleted itself may have been its device's only one.
func (c *Client) Terminate(ctx context.Context, vehicle dkey.VehicleID, attestation []byte) (keyservice.CommandID, error) {
	r, err := c.do(ctx, http.MethodPost, "/v1/vehicles/"+vehicle.String()+"/terminations", nil, keyservice.COSEType, attestation, c.timeout)
	return accepted(r, err, nil)
}

// accepted returns the identifier of an accepted command; a duplicate of
// the same signed command is a retry, and accepted.
func accepted(r *response, err error, signed []byte) (keyservice.CommandID, error) {
	var e *keyservice.Error
	if errors.As(err, &e) && e.Code == keyservice.CodeDuplicate {
		if sc, perr := sharing.ParseSignedCommand(signed); perr == nil {
			return keyservice.CommandID(sc.Command.ID), nil
		}
		return keyservice.CommandID{}, nil
	}
	if err != nil {
		return keyservice.CommandID{}, err
	}
	b, err := r.expect(keyservice.CBORType)
	if err != nil {
		return keyservice.CommandID{}, err
	}
	a, err := keyservice.ParseAccepted(b)
	if err != nil {
		return keyservice.CommandID{}, err
	}
	return a.ID, nil
}

// ManageDevice implements sharing.KeyServer for the client's own device
// (lost mode, set from the device before it is out of reach, or by its
// owner on it): it suspends or resumes every key of the device at every
// vehicle. The request is idempotent: the client retries it with the same
// identifier while the service is unavailable, until ctx is done.
func (c *Client) ManageDevice(ctx context.Context, device sharing.DeviceID, action sharing.KeyAction) (int, error) {
	if c.role != keyservice.RoleDevice || device != c.device {
		return 0, errors.New("client: a device sets the state of its own keys only")
	}
	req := &keyservice.DeviceStateRequest{Action: action}
	if action != sharing.ActionSuspend && action != sharing.ActionResume {
		return 0, fmt.Errorf("%w: a device is suspended or resumed, its keys terminated one by one", sharing.ErrMalformed)
	}
	id, err := sharing.NewAccessToken() // 16 random bytes
	if err != nil {
		return 0, err
	}
	req.Request = id
	body, err := req.MarshalBinary()
	if err != nil {
		return 0, err
	}
	for {
		r, err := c.do(ctx, http.MethodPost, "/v1/devices/"+keyservice.DevicePath(device)+"/state", nil, keyservice.CBORType, body, c.timeout)
		if err == nil {
			b, err := r.expect(keyservice.CBORType)
			if err != nil {
				return 0, err
			}
			n, err := keyservice.ParseCount(b)
			if err != nil {
				return 0, err
			}
			return n.N, nil
		}
		if !Temporary(err) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, errors.Join(err, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// Commands implements sharing.KeyServer for the client's own vehicle: it
// returns the queued commands and acknowledges them, so that they are not
// delivered again. A vehicle that applies commands should use Run instead,
// which acknowledges after applying.
func (c *Client) Commands(ctx context.Context, vehicle dkey.VehicleID) ([]*sharing.KeyCommand, error) {
	if c.role != keyservice.RoleVehicle || !vehicle.Equal(c.vehicle) {
		return nil, errors.New("client: a vehicle reads its own commands only")
	}
	ds, err := c.Wait(ctx, 0)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	if err := c.Ack(ctx, &keyservice.Ack{Through: ds[len(ds)-1].Seq}); err != nil {
		return nil, err
	}
	out := make([]*sharing.KeyCommand, len(ds))
	for i, d := range ds {
		out[i] = d.Command
	}
	return out, nil
}

// queuePath returns the path of the client's command queue.
func (c *Client) queuePath() (string, error) {
	switch c.role {
	case keyservice.RoleVehicle:
		return "/v1/vehicles/" + c.vehicle.String() + "/commands", nil
	case keyservice.RoleDevice:
		return "/v1/devices/" + keyservice.DevicePath(c.device) + "/commands", nil
	}
	return "", errors.New("client: an anonymous client has no command queue")
}

// Wait waits up to wait (whole seconds, at most the service's maximum) for
// commands in the client's queue, vehicle's or device's, and returns them,
// oldest first; none when the wait ends first.
func (c *Client) Wait(ctx context.Context, wait time.Duration) ([]keyservice.Delivery, error) {
	p, err := c.queuePath()
	if err != nil {
		return nil, err
	}
	r, err := c.do(ctx, http.MethodGet, p+"?wait="+strconv.Itoa(int(wait/time.Second)), nil, "", nil, wait+c.timeout)
	if err != nil {
		return nil, err
	}
	b, err := r.expect(keyservice.CBORType)
	if err != nil {
		return nil, err
	}
	return keyservice.ParseDeliveries(b)
}

// Ack acknowledges the commands of the client's queue through a.Through.
func (c *Client) Ack(ctx context.Context, a *keyservice.Ack) error {
	p, err := c.queuePath()
	if err != nil {
		return err
	}
	body, err := a.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = c.do(ctx, http.MethodPost, p+"/ack", nil, keyservice.CBORType, body, c.timeout)
	return err
}

// ReportKeys reports the vehicle's keys, every key it has enrolled; the
// client must be the vehicle.
func (c *Client) ReportKeys(ctx context.Context, keys []keyservice.ReportedKey) error {
	if c.role != keyservice.RoleVehicle {
		return errors.New("client: only a vehicle reports its keys")
	}
	body, err := keyservice.MarshalReport(keys)
	if err != nil {
		return err
	}
	return c.putReport(ctx, body)
}

func (c *Client) putReport(ctx context.Context, body []byte) error {
	if c.role != keyservice.RoleVehicle {
		return errors.New("client: only a vehicle reports its keys")
	}
	_, err := c.do(ctx, http.MethodPut, "/v1/vehicles/"+c.vehicle.String()+"/keys", nil, keyservice.CBORType, body, c.timeout)
	return err
}

// Keys returns the service's inventory of vehicle: for the vehicle itself,
// or for a key of it that manages it.
func (c *Client) Keys(ctx context.Context, vehicle dkey.VehicleID) (*keyservice.KeyList, error) {
	r, err := c.do(ctx, http.MethodGet, "/v1/vehicles/"+vehicle.String()+"/keys", nil, "", nil, c.timeout)
	if err != nil {
		return nil, err
	}
	b, err := r.expect(keyservice.CBORType)
	if err != nil {
		return nil, err
	}
	return keyservice.ParseKeyList(b)
}

// Temporary reports whether err is worth retrying: the service or its
// store was unavailable, or the network failed, rather than the service
// refusing the request.
func Temporary(err error) bool {
	var e *keyservice.Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, keyservice.ErrMalformed) && !errors.Is(err, sharing.ErrMalformed)
}
