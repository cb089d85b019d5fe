// Command dkserver runs the key service of package keyservice: the sharing
// relay, key tracking with signed receipts, and key commands for vehicles
// and devices, over HTTPS with client certificates of the Digital Key PKI.
//
//	dkserver -data DIR [flags]          one machine: a bbolt file in DIR
//	dkserver -postgres URL [flags]      a fleet: instances share one database
//
// With -data and nothing else it just works: it creates DIR, the store,
// a self-signed TLS certificate and a receipt-signing key there on the
// first start, and reuses them afterwards. Clients need trust anchors to
// authenticate: -device-roots for phones and watches (Device OEM roots),
// -vehicle-roots for vehicles (Vehicle OEM roots); without them every
// request that needs a client certificate is refused, and the relay's
// token endpoints still work. With -postgres, -tls-cert, -tls-key and
// -tracking-key are required: every instance must present the same
// certificate and sign receipts with the same key.
//
// It logs to standard error with log/slog (every refusal, every accepted
// and acknowledged command), serves until SIGINT or SIGTERM, then drains
// connections for up to 10 seconds.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyservice"
	"github.com/opencarkey/sdk/keyservice/boltstore"
	"github.com/opencarkey/sdk/keyservice/pgstore"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags.
type options struct {
	listen, data, postgres       string
	tlsCert, tlsKey, trackingKey string
	deviceRoots, vehicleRoots    string
	maxWait, poll                time.Duration
	maxConns                     int
	logLevel, logFormat          string
}

const usage = `Usage: dkserver -data DIR | -postgres URL [flags]

Runs the Digital Key key service: the sharing relay, key tracking and key
commands over HTTPS (package keyservice).

Flags:
`

func parse(args []string, stdout io.Writer) (*options, error) {
	fs := flag.NewFlagSet("dkserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := new(options)
	fs.StringVar(&o.listen, "listen", ":8443", "`address` to listen on (host:port)")
	fs.StringVar(&o.data, "data", "", "`directory` of the embedded store (bbolt), created if needed")
	fs.StringVar(&o.postgres, "postgres", "", "PostgreSQL connection `URL`; several instances may share it")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "server certificate chain, PEM `file`; with -data, generated in DIR when absent")
	fs.StringVar(&o.tlsKey, "tls-key", "", "server private key, PEM `file`")
	fs.StringVar(&o.trackingKey, "tracking-key", "", "P-256 key that signs tracking receipts, PKCS #8 PEM `file`; with -data, generated in DIR when absent")
	fs.StringVar(&o.deviceRoots, "device-roots", "", "Device OEM root certificates, PEM `file`: the trust anchors of devices")
	fs.StringVar(&o.vehicleRoots, "vehicle-roots", "", "Vehicle OEM root certificates, PEM `file`: the trust anchors of vehicles")
	fs.IntVar(&o.maxConns, "postgres-max-conns", 0, "largest number of PostgreSQL connections of this instance; 0 means pgx's default (4 or the number of CPUs)")
	fs.DurationVar(&o.maxWait, "max-wait", keyservice.DefaultMaxWait, "longest long poll for commands")
	fs.DurationVar(&o.poll, "poll", keyservice.DefaultPollInterval, "how often a waiting long poll reads its queue again without a notification")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log `format`: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case (o.data == "") == (o.postgres == ""):
		return nil, errors.New("give one of -data DIR and -postgres URL")
	case o.postgres != "" && (o.tlsCert == "" || o.tlsKey == "" || o.trackingKey == ""):
		return nil, errors.New("-postgres needs -tls-cert, -tls-key and -tracking-key, the same for every instance")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return nil, errors.New("give both -tls-cert and -tls-key, or neither")
	case o.maxWait < time.Second || o.maxWait > 10*time.Minute:
		return nil, errors.New("-max-wait must be between 1s and 10m")
	case o.poll < 100*time.Millisecond:
		return nil, errors.New("-poll must be at least 100ms")
	case o.maxConns < 0 || o.maxConns > 1000:
		return nil, errors.New("-postgres-max-conns must be between 0 and 1000")
	case o.logFormat != "text" && o.logFormat != "json":
		return nil, fmt.Errorf("-log-format %q: text or json", o.logFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level %q: debug, info, warn or error", o.logLevel)
	}
	return o, nil
}

// run is the program: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "dkserver: %v (dkserver -h for help)\n", err)
		return 2
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(o.logLevel))
	hopts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(stderr, hopts)
	if o.logFormat == "json" {
		h = slog.NewJSONHandler(stderr, hopts)
	}
	log := slog.New(h)
	if err := serve(o, log, h); err != nil {
		log.Error("dkserver stopped", "err", err)
		return 1
	}
	return 0
}

// serve runs the service until SIGINT or SIGTERM.
func serve(o *options, log *slog.Logger, h slog.Handler) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	var store keyservice.Store
	desc := ""
	if o.data != "" {
		if err := os.MkdirAll(o.data, 0o700); err != nil {
			return err
		}
		path := filepath.Join(o.data, "dkserver.db")
		s, err := boltstore.Open(path)
		if err != nil {
			return err
		}
		store, desc = s, "bbolt "+path
		if o.tlsCert == "" {
			o.tlsCert, o.tlsKey = filepath.Join(o.data, "tls-cert.pem"), filepath.Join(o.data, "tls-key.pem")
			if err := ensureServerCert(o.tlsCert, o.tlsKey, log); err != nil {
				store.Close()
				return err
			}
		}
		if o.trackingKey == "" {
			o.trackingKey = filepath.Join(o.data, "tracking-key.pem")
			if err := ensureTrackingKey(o.trackingKey, log); err != nil {
				store.Close()
				return err
			}
		}
	} else {
		s, err := pgstore.Open(ctx, o.postgres, &pgstore.Options{MaxConns: int32(o.maxConns), OnListenError: func(err error) {
			log.Warn("PostgreSQL listener reconnecting", "err", err)
		}})
		if err != nil {
			return err
		}
		store, desc = s, "postgres"
	}
	defer store.Close()

	tc, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	tk, err := loadTrackingKey(o.trackingKey)
	if err != nil {
		return err
	}
	certs := new(cert.Config)
	if certs.DeviceRoots, err = loadPool(o.deviceRoots); err != nil {
		return err
	}
	if certs.VehicleRoots, err = loadPool(o.vehicleRoots); err != nil {
		return err
	}
	if certs.DeviceRoots == nil {
		log.Warn("no -device-roots: every device request is refused")
	}
	if certs.VehicleRoots == nil {
		log.Warn("no -vehicle-roots: every vehicle request is refused")
	}
	srv, err := keyservice.New(&keyservice.Config{
		Store: store, Certificates: certs, TrackingKey: tk, MaxWait: o.maxWait, PollInterval: o.poll,
		Hooks: hooks(log),
	})
	if err != nil {
		return err
	}
	hs := srv.HTTPServer(&tls.Config{Certificates: []tls.Certificate{tc}})
	hs.ErrorLog = slog.NewLogLogger(h, slog.LevelWarn)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	tpub, _ := dkey.PublicKeyOf(tk)
	fp := sha256.Sum256(tc.Certificate[0])
	log.Info("listening", "addr", ln.Addr().String(), "store", desc,
		"tls_sha256", hex.EncodeToString(fp[:]), "tracking_key", hex.EncodeToString(tpub.Bytes()))

	go func() {
		if err := srv.RunJanitor(ctx, time.Minute, func(err error) { log.Warn("expiring mailboxes", "err", err) }); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("janitor stopped", "err", err)
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hooks logs what the service reports.
func hooks(log *slog.Logger) *keyservice.Hooks {
	return &keyservice.Hooks{
		Refused: func(r *keyservice.Rejection) {
			attrs := []any{"method", r.Method, "path", r.Path, "status", r.Error.Status, "code", r.Error.Code, "detail", r.Error.Detail, "client", r.Client.String()}
			if r.Cause != nil {
				attrs = append(attrs, "cause", r.Cause.Error())
			}
			lvl := slog.LevelWarn
			if r.Error.Status >= 500 {
				lvl = slog.LevelError
			}
			log.Log(context.Background(), lvl, "refused", attrs...)
		},
		Accepted: func(e *keyservice.CommandEvent) {
			rs := make([]string, len(e.Recipients))
			for i, r := range e.Recipients {
				rs[i] = string(r)
			}
			log.Info("command accepted", "id", e.ID.String(), "action", e.Action.String(), "vehicle", e.Vehicle.String(),
				"slot", e.Slot.String(), "recipients", strings.Join(rs, ","), "client", e.Client.String())
		},
		Acknowledged: func(e *keyservice.AckEvent) {
			log.Info("commands acknowledged", "recipient", string(e.Recipient), "through", e.Through, "refused", len(e.Refused))
			for _, r := range e.Refused {
				log.Warn("command refused by its recipient", "recipient", string(e.Recipient), "seq", r.Seq, "reason", r.Reason)
			}
		},
	}
}

// loadPool reads PEM certificates; an empty path is no pool.
func loadPool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

// loadTrackingKey reads a PKCS #8 P-256 key.
func loadTrackingKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM PRIVATE KEY", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s: the tracking key must be a P-256 key", path)
	}
	return ek, nil
}

// writePEM writes one PEM block to a new file of mode 0600.
func writePEM(path, typ string, der []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := pem.Encode(f, &pem.Block{Type: typ, Bytes: der}); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// ensureTrackingKey creates a P-256 key at path unless there is one.
func ensureTrackingKey(path string, log *slog.Logger) error {
	if exists(path) {
		return nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	log.Info("created a tracking key", "file", path)
	return writePEM(path, "PRIVATE KEY", der)
}

// ensureServerCert creates a self-signed certificate for this host,
// localhost and the loopback addresses unless there is one.
func ensureServerCert(certPath, keyPath string, log *slog.Logger) error {
	if exists(certPath) && exists(keyPath) {
		return nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		names = append(names, h)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "dkserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		DNSNames: names, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	os.Remove(certPath)
	os.Remove(keyPath)
	if err := writePEM(keyPath, "PRIVATE KEY", kder); err != nil {
		return err
	}
	log.Info("created a self-signed TLS certificate", "file", certPath, "names", strings.Join(names, ","))
	return writePEM(certPath, "CERTIFICATE", der)
}
