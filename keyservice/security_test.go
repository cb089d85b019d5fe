package keyservice_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/sharing"
)

// raw sends one request with tc as the client certificate (nil: none) and
// returns the status and, for a refusal, the typed error body, which it
// requires.
func (s *service) raw(t *testing.T, tc *tls.Certificate, method, path string, header http.Header, typ string, body []byte) (int, *keyservice.Error) {
	t.Helper()
	if body == nil {
		return s.send(t, tc, method, path, header, typ, nil)
	}
	return s.send(t, tc, method, path, header, typ, bytes.NewReader(body))
}

// send is raw with a body of any reader: one that is not a bytes.Reader
// goes chunked, without a Content-Length.
func (s *service) send(t *testing.T, tc *tls.Certificate, method, path string, header http.Header, typ string, body io.Reader) (int, *keyservice.Error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: s.roots}
	if tc != nil {
		cfg.Certificates = []tls.Certificate{*tc}
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if typ != "" {
		req.Header.Set("Content-Type", typ)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	e, err := keyservice.ParseError(b)
	if mt != keyservice.ProblemType || err != nil || e.Status != resp.StatusCode {
		t.Fatalf("%s %s: status %d with a %s body %q: not a typed error", method, path, resp.StatusCode, mt, b)
	}
	return resp.StatusCode, e
}

// refused checks that a request was refused with code, and that the
// service reported the refusal to its hooks (the logs).
func (s *service) refused(t *testing.T, what string, code keyservice.Code, do func() (int, *keyservice.Error)) {
	t.Helper()
	before := s.refusalCount()
	status, e := do()
	if e == nil || e.Code != code || status != code.Status() {
		t.Errorf("%s = %d %+v, want %d %s", what, status, e, code.Status(), code)
		return
	}
	if s.refusalCount() != before+1 {
		t.Errorf("%s: the refusal was not reported to the hooks", what)
		return
	}
	if r := s.lastRefusal(); r.Error.Code != code {
		t.Errorf("%s: the hooks saw %+v", what, r.Error)
	}
}

func cbor(t *testing.T, v interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pendingFor returns the commands queued for the vehicle, without
// acknowledging them.
func (w *world) pending(t *testing.T) []keyservice.Delivery {
	t.Helper()
	ds, err := w.vclient.Wait(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestSecurityAuthentication: no client certificate, or one from another
// PKI's root, is refused wherever a certificate is needed.
func TestSecurityAuthentication(t *testing.T) {
	w := newWorld(t, boltBackend())
	other := newPKI(t, "B")
	strangerCar := other.vehicleCert(t, w.car.id, w.car.key)
	strangerPhone := newPhone(t, other, "stranger")
	if _, err := strangerPhone.applet.CreateKey(w.car.keyConfig()); err != nil {
		t.Fatal(err)
	}
	strangerDevice := strangerPhone.endpointCert(t, w.car.id, w.car.reader.PublicKey())
	vpath := "/v1/vehicles/" + w.car.id.String()
	track := cbor(t, &keyservice.TrackKeyRequest{Vehicle: w.car.id, Slot: w.ownerK.slot, Key: w.ownerK.pub, Role: dkey.RoleOwner})
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
	}{{"no certificate", nil}, {"another root (vehicle)", &strangerCar}, {"another root (device)", &strangerDevice}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, req := range []struct {
				method, path, typ string
				body              []byte
			}{
				{http.MethodGet, vpath + "/commands", "", nil},
				{http.MethodPost, vpath + "/commands/ack", keyservice.CBORType, cbor(t, &keyservice.Ack{Through: 1})},
				{http.MethodPut, vpath + "/keys", keyservice.CBORType, must[[]byte](t)(keyservice.MarshalReport(nil))},
				{http.MethodGet, vpath + "/keys", "", nil},
				{http.MethodPost, "/v1/keys", keyservice.CBORType, track},
				{http.MethodPost, "/v1/commands", keyservice.CBORType, []byte{0x80}},
				{http.MethodPost, "/v1/relay/mailboxes", keyservice.CBORType, []byte{0xa0}},
				{http.MethodPost, "/v1/devices/" + keyservice.DevicePath(w.owner.deviceID()) + "/state", keyservice.CBORType, []byte{0xa0}},
			} {
				w.svc.refused(t, tc.name+": "+req.method+" "+req.path, keyservice.CodeUnauthenticated, func() (int, *keyservice.Error) {
					return w.svc.raw(t, tc.cert, req.method, req.path, nil, req.typ, req.body)
				})
			}
		})
	}
	// The genuine certificates pass.
	if st, e := w.svc.raw(t, &w.car.cert, http.MethodGet, vpath+"/commands", nil, "", nil); e != nil || st != http.StatusOK {
		t.Errorf("the vehicle's own queue = %d %v", st, e)
	}
}

// TestSecurityQueues: a vehicle reads and acknowledges its own queue only,
// a device its own.
func TestSecurityQueues(t *testing.T) {
	w := newWorld(t, boltBackend())
	other := newCar(t, w.pki, "VIN00002")
	vpath := "/v1/vehicles/" + w.car.id.String() + "/commands"
	w.svc.refused(t, "another vehicle's queue", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &other.cert, http.MethodGet, vpath, nil, "", nil)
	})
	w.svc.refused(t, "another vehicle's acknowledgement", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &other.cert, http.MethodPost, vpath+"/ack", nil, keyservice.CBORType, cbor(t, &keyservice.Ack{Through: 1}))
	})
	w.svc.refused(t, "another vehicle's report", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &other.cert, http.MethodPut, "/v1/vehicles/"+w.car.id.String()+"/keys", nil, keyservice.CBORType, must[[]byte](t)(keyservice.MarshalReport(nil)))
	})
	oc := w.owner.endpointCert(t, w.car.id, w.car.reader.PublicKey())
	w.svc.refused(t, "a device reading a vehicle's queue", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &oc, http.MethodGet, vpath, nil, "", nil)
	})
	w.svc.refused(t, "another device's queue", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &oc, http.MethodGet, "/v1/devices/"+keyservice.DevicePath(w.friend.deviceID())+"/commands", nil, "", nil)
	})
	w.svc.refused(t, "a vehicle reading a device's queue", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &w.car.cert, http.MethodGet, "/v1/devices/"+keyservice.DevicePath(w.owner.deviceID())+"/commands", nil, "", nil)
	})
	w.svc.refused(t, "another device's lost mode", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &oc, http.MethodPost, "/v1/devices/"+keyservice.DevicePath(w.friend.deviceID())+"/state", nil, keyservice.CBORType,
			cbor(t, &keyservice.DeviceStateRequest{Action: sharing.ActionSuspend}))
	})
	// A device registers its own key only.
	k := mustKey(t)
	w.svc.refused(t, "tracking another key", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &oc, http.MethodPost, "/v1/keys", nil, keyservice.CBORType,
			cbor(t, &keyservice.TrackKeyRequest{Vehicle: w.car.id, Slot: w.ownerK.slot, Key: k.PublicKey(), Role: dkey.RoleOwner}))
	})
}

// TestSecurityFriendCommands: a friend cannot suspend or terminate the
// owner, even entitled to manage keys, and a command signed by the friend
// in the owner's name does not verify; nothing is queued, nothing changes.
func TestSecurityFriendCommands(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, boltBackend())
	w.runVehicle(t)
	offer := unlockOnly()
	offer.Profile.Entitlements |= dkey.EntitleManage
	w.share(t, offer)
	if _, err := w.car.reader.Transact(ctx, w.friend.card, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the vehicle reports the friend key", func() bool {
		l, err := w.oclient.Keys(ctx, w.car.id)
		return err == nil && len(l.Keys) == 2
	})
	finfo, _ := w.friend.applet.Key(w.car.id)
	fc := w.friend.endpointCert(t, w.car.id, w.car.reader.PublicKey())
	fkey := w.friend.signer(t, w.car.id)
	before := must[*keyservice.KeyList](t)(w.oclient.Keys(ctx, w.car.id))
	stopped := w.applied.Load()

	suspendOwner := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, w.ownerK.slot, nil))
	w.svc.refused(t, "a friend suspending the owner", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &fc, http.MethodPost, "/v1/commands", nil, keyservice.CBORType, must[[]byte](t)(sharing.SignCommand(suspendOwner, fkey, finfo.Slot, time.Now())))
	})
	w.svc.refused(t, "a friend's command in the owner's name", keyservice.CodeBadSignature, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &fc, http.MethodPost, "/v1/commands", nil, keyservice.CBORType, must[[]byte](t)(sharing.SignCommand(suspendOwner, fkey, w.ownerK.slot, time.Now())))
	})
	term, _, err := (&sharing.Termination{Vehicle: w.car.id, Slot: w.ownerK.slot, Key: w.ownerK.pub}).Sign(fkey, finfo.Slot)
	if err != nil {
		t.Fatal(err)
	}
	w.svc.refused(t, "a friend terminating the owner", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodPost, "/v1/vehicles/"+w.car.id.String()+"/terminations", nil, keyservice.COSEType, term)
	})
	terminateOwner := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionTerminate, w.car.id, w.ownerK.slot, term))
	w.svc.refused(t, "a friend's signed termination of the owner", keyservice.CodeForbidden, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &fc, http.MethodPost, "/v1/commands", nil, keyservice.CBORType, must[[]byte](t)(sharing.SignCommand(terminateOwner, fkey, finfo.Slot, time.Now())))
	})
	// A friend not entitled to manage cannot terminate another friend's
	// key either (checked by the attestation: a stranger's key signs).
	stranger := mustKey(t)
	forged, _, _ := (&sharing.Termination{Vehicle: w.car.id, Slot: finfo.Slot, Key: finfo.PublicKey}).Sign(stranger, w.ownerK.slot)
	w.svc.refused(t, "a forged termination", keyservice.CodeBadSignature, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodPost, "/v1/vehicles/"+w.car.id.String()+"/terminations", nil, keyservice.COSEType, forged)
	})
	after := must[*keyservice.KeyList](t)(w.oclient.Keys(ctx, w.car.id))
	if string(cbor(t, before)) != string(cbor(t, after)) {
		t.Errorf("the inventory changed:\n%+v\n%+v", before, after)
	}
	if len(w.car.reader.Keys()) != 2 || w.car.reader.Keys()[0].State != dkey.KeyActive || w.applied.Load() != stopped {
		t.Errorf("the vehicle changed: %+v", w.car.reader.Keys())
	}
	// The friend may suspend itself.
	self := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, finfo.Slot, nil))
	if st, e := w.svc.raw(t, &fc, http.MethodPost, "/v1/commands", nil, keyservice.CBORType, must[[]byte](t)(sharing.SignCommand(self, fkey, finfo.Slot, time.Now()))); e != nil || st != http.StatusAccepted {
		t.Errorf("a friend suspending itself = %d %+v", st, e)
	}
}

// TestSecurityReplay: a command accepted once is refused again, before and
// after the vehicle applied it, and after a later command undid it; a
// command signed too long ago is refused.
func TestSecurityReplay(t *testing.T) {
	w := newWorld(t, boltBackend())
	if err := w.vclient.ReportKeys(context.Background(), report(w.car.reader)()); err != nil {
		t.Fatal(err)
	}
	oc := w.owner.endpointCert(t, w.car.id, w.car.reader.PublicKey())
	okey := w.owner.signer(t, w.car.id)
	// The owner suspends its own key: a key the vehicle reported.
	k2 := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, w.ownerK.slot, nil))
	suspend := must[[]byte](t)(sharing.SignCommand(k2, okey, w.ownerK.slot, time.Now()))
	post := func(b []byte) (int, *keyservice.Error) {
		return w.svc.raw(t, &oc, http.MethodPost, "/v1/commands", nil, keyservice.CBORType, b)
	}
	if st, e := post(suspend); e != nil || st != http.StatusAccepted {
		t.Fatalf("suspend = %d %+v", st, e)
	}
	w.svc.refused(t, "the same command again", keyservice.CodeDuplicate, func() (int, *keyservice.Error) { return post(suspend) })
	if n := len(w.pending(t)); n != 1 {
		t.Errorf("%d commands queued, want 1", n)
	}
	// The vehicle applies the suspension and acknowledges it; a replay
	// still does nothing.
	ds := w.pending(t)
	if err := w.car.reader.ApplyCommand(ds[0].Command); err != nil {
		t.Fatal(err)
	}
	if err := w.vclient.Ack(context.Background(), &keyservice.Ack{Through: ds[0].Seq}); err != nil {
		t.Fatal(err)
	}
	w.svc.refused(t, "the command replayed after it was applied", keyservice.CodeDuplicate, func() (int, *keyservice.Error) { return post(suspend) })
	if n := len(w.pending(t)); n != 0 {
		t.Errorf("%d commands queued after the replay, want 0", n)
	}
	old := must[*sharing.KeyCommand](t)(sharing.NewKeyCommand(sharing.ActionSuspend, w.car.id, w.ownerK.slot, nil))
	w.svc.refused(t, "a command signed two days ago", keyservice.CodeStale, func() (int, *keyservice.Error) {
		return post(must[[]byte](t)(sharing.SignCommand(old, okey, w.ownerK.slot, time.Now().Add(-48*time.Hour))))
	})
	w.svc.refused(t, "a command dated tomorrow", keyservice.CodeStale, func() (int, *keyservice.Error) {
		return post(must[[]byte](t)(sharing.SignCommand(old, okey, w.ownerK.slot, time.Now().Add(24*time.Hour))))
	})
}

// TestSecurityReplayedTermination: the same termination attestation twice
// is one command.
func TestSecurityReplayedTermination(t *testing.T) {
	w := newWorld(t, boltBackend())
	w.runVehicle(t)
	w.share(t, unlockOnly())
	if _, err := w.car.reader.Transact(context.Background(), w.friend.card, dkey.ActionUnlock); err != nil {
		t.Fatal(err)
	}
	finfo, _ := w.friend.applet.Key(w.car.id)
	w.owner.applet.AuthenticateUser(time.Now().Add(time.Hour))
	stmt := must[[]byte](t)(w.owner.applet.TerminateShared(&sharing.Termination{Vehicle: w.car.id, Slot: finfo.Slot, Key: finfo.PublicKey}))
	path := "/v1/vehicles/" + w.car.id.String() + "/terminations"
	if st, e := w.svc.raw(t, nil, http.MethodPost, path, nil, keyservice.COSEType, stmt); e != nil || st != http.StatusAccepted {
		t.Fatalf("termination = %d %+v", st, e)
	}
	w.svc.refused(t, "the termination again", keyservice.CodeDuplicate, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodPost, path, nil, keyservice.COSEType, stmt)
	})
	eventually(t, "the termination reaches the vehicle", func() bool { return len(w.car.reader.Keys()) == 1 })
	if n := w.applied.Load(); n != 1 {
		t.Errorf("%d commands applied, want 1", n)
	}
}

// TestSecurityLimits: bodies over each endpoint's limit, with and without a
// declared length, wrong media types, malformed bodies, unknown paths and
// methods: each refused with its typed error.
func TestSecurityLimits(t *testing.T) {
	w := newWorld(t, boltBackend())
	oc := w.owner.endpointCert(t, w.car.id, w.car.reader.PublicKey())
	mb := must[*sharing.CreatedMailbox](t)(w.oclient.CreateMailbox(context.Background(), &sharing.NewMailbox{Content: make([]byte, 300), Expires: time.Now().Add(time.Hour)}))
	tok := http.Header{"Authorization": {keyservice.AuthorizationHeader(mb.Sender)}}
	vpath := "/v1/vehicles/" + w.car.id.String()
	for _, tt := range []struct {
		cert         *tls.Certificate
		method, path string
		header       http.Header
		typ          string
		limit        int
	}{
		{&oc, http.MethodPost, "/v1/relay/mailboxes", nil, keyservice.CBORType, sharing.MaxSealedSize + sharing.MaxDisplaySize + 64},
		{nil, http.MethodPut, "/v1/relay/mailboxes/" + mb.ID.String() + "/content", tok, keyservice.ContentType, sharing.MaxSealedSize},
		{&oc, http.MethodPost, "/v1/keys", nil, keyservice.CBORType, 256},
		{&w.car.cert, http.MethodPut, vpath + "/keys", nil, keyservice.CBORType, keyservice.MaxInventoryKeys * 128},
		{&oc, http.MethodPost, "/v1/commands", nil, keyservice.CBORType, sharing.MaxSignedCommandSize},
		{nil, http.MethodPost, vpath + "/terminations", nil, keyservice.COSEType, 1024},
		{&w.car.cert, http.MethodPost, vpath + "/commands/ack", nil, keyservice.CBORType, 32 + keyservice.MaxDeliveries*(16+256)},
		{&oc, http.MethodPost, "/v1/devices/" + keyservice.DevicePath(w.owner.deviceID()) + "/state", nil, keyservice.CBORType, 64},
		{&w.car.cert, http.MethodGet, vpath + "/commands", nil, "", 0},
	} {
		body := bytes.Repeat([]byte{0x41}, tt.limit+1)
		w.svc.refused(t, "oversize "+tt.method+" "+tt.path, keyservice.CodeTooLarge, func() (int, *keyservice.Error) {
			return w.svc.raw(t, tt.cert, tt.method, tt.path, tt.header, tt.typ, body)
		})
		// Without a Content-Length: the limit holds while reading.
		w.svc.refused(t, "oversize chunked "+tt.method+" "+tt.path, keyservice.CodeTooLarge, func() (int, *keyservice.Error) {
			return w.svc.send(t, tt.cert, tt.method, tt.path, tt.header, tt.typ, chunked(body))
		})
	}
	w.svc.refused(t, "a wrong media type", keyservice.CodeUnsupportedMediaType, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &oc, http.MethodPost, "/v1/keys", nil, "application/json", []byte("{}"))
	})
	w.svc.refused(t, "a malformed body", keyservice.CodeMalformed, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &oc, http.MethodPost, "/v1/keys", nil, keyservice.CBORType, []byte{0xa1, 0x01, 0x01})
	})
	w.svc.refused(t, "a malformed path", keyservice.CodeMalformed, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &w.car.cert, http.MethodGet, "/v1/vehicles/ZZ/commands", nil, "", nil)
	})
	w.svc.refused(t, "a malformed wait", keyservice.CodeMalformed, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &w.car.cert, http.MethodGet, vpath+"/commands?wait=-1", nil, "", nil)
	})
	w.svc.refused(t, "an unknown query parameter", keyservice.CodeMalformed, func() (int, *keyservice.Error) {
		return w.svc.raw(t, &w.car.cert, http.MethodGet, vpath+"/commands?after=3", nil, "", nil)
	})
	w.svc.refused(t, "an unknown path", keyservice.CodeNotFound, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodGet, "/v2/health", nil, "", nil)
	})
	w.svc.refused(t, "a wrong method", keyservice.CodeMethodNotAllowed, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodDelete, "/v1/health", nil, "", nil)
	})
	if st, e := w.svc.raw(t, nil, http.MethodGet, "/v1/health", nil, "", nil); e != nil || st != http.StatusOK {
		t.Errorf("health = %d %+v", st, e)
	}
}

// chunked hides a body's length from the transport.
type chunkedBody struct{ io.Reader }

func chunked(b []byte) io.Reader { return chunkedBody{bytes.NewReader(b)} }

// TestSecurityRelay: every mailbox operation needs the right token; the
// fetch token works once.
func TestSecurityRelay(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, boltBackend())
	mb := must[*sharing.CreatedMailbox](t)(w.oclient.CreateMailbox(ctx, &sharing.NewMailbox{Content: make([]byte, 300), Expires: time.Now().Add(time.Hour)}))
	anon := w.svc.client(t, nil)
	path := "/v1/relay/mailboxes/" + mb.ID.String()
	bearer := func(tok sharing.AccessToken) http.Header {
		return http.Header{"Authorization": {keyservice.AuthorizationHeader(tok)}}
	}
	wrong := sharing.AccessToken{1}
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, path + "/display"}, {http.MethodPost, path + "/fetch"}, {http.MethodGet, path + "/content"}, {http.MethodDelete, path},
	} {
		w.svc.refused(t, "no token: "+req.method+" "+req.path, keyservice.CodeUnauthenticated, func() (int, *keyservice.Error) {
			return w.svc.raw(t, nil, req.method, req.path, nil, "", nil)
		})
		w.svc.refused(t, "a wrong token: "+req.method+" "+req.path, keyservice.CodeAccessDenied, func() (int, *keyservice.Error) {
			return w.svc.raw(t, nil, req.method, req.path, bearer(wrong), "", nil)
		})
	}
	w.svc.refused(t, "a malformed token", keyservice.CodeMalformed, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodGet, path+"/display", http.Header{"Authorization": {"Bearer !"}}, "", nil)
	})
	w.svc.refused(t, "fetch with the sender's token", keyservice.CodeAccessDenied, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodPost, path+"/fetch", bearer(mb.Sender), "", nil)
	})
	if _, _, err := anon.FetchInvitation(ctx, mb.ID, mb.Fetch); err != nil {
		t.Fatal(err)
	}
	w.svc.refused(t, "the fetch token again", keyservice.CodeAccessDenied, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodPost, path+"/fetch", bearer(mb.Fetch), "", nil)
	})
	w.svc.refused(t, "an unknown mailbox", keyservice.CodeNotFound, func() (int, *keyservice.Error) {
		return w.svc.raw(t, nil, http.MethodGet, "/v1/relay/mailboxes/"+sharing.MailboxID{9}.String()+"/display", bearer(mb.Sender), "", nil)
	})
	// A device has a bounded number of mailboxes.
	for range keyservice.DefaultMaxMailboxesPerDevice - 1 {
		if _, err := w.oclient.CreateMailbox(ctx, &sharing.NewMailbox{Content: []byte{1}, Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	w.svc.refused(t, "one mailbox too many", keyservice.CodeCapacity, func() (int, *keyservice.Error) {
		oc := w.owner.endpointCert(t, w.car.id, w.car.reader.PublicKey())
		return w.svc.raw(t, &oc, http.MethodPost, "/v1/relay/mailboxes", nil, keyservice.CBORType,
			cbor(t, &keyservice.MailboxRequest{Content: []byte{1}, Expires: time.Now().Add(time.Hour)}))
	})
	if !strings.Contains(w.svc.lastRefusal().Error.Detail, "mailboxes") {
		t.Errorf("capacity detail %q", w.svc.lastRefusal().Error.Detail)
	}
}
