module github.com/opencarkey/sdk

go 1.26.4

require (
	filippo.io/nistec v0.0.4
	github.com/c2sp/wycheproof v0.0.0-20260902155932-3fa63dd0344a
	github.com/creack/pty v1.1.24
	github.com/fxamacker/cbor/v2 v2.10.0
	github.com/google/go-cmp v0.7.0
	go.bug.st/serial v1.8.0
	golang.org/x/crypto v0.59.0
	golang.org/x/sys v0.50.0
)

require github.com/x448/float16 v0.8.4 // indirect
