#!/usr/bin/env bash
# The whole test suite, as the README's test command and CI (.ci/run) run it:
#
#   bash scripts/test.sh
#
# 1. go vet and staticcheck (honnef.co/go/tools, pinned, fetched through the
#    Go module proxy) on the module and on the nested conformance module;
# 2. go test -race on every package of the module, with a private pcscd and
#    the vpcd virtual reader for the PC/SC integration tests
#    (scripts/pcsc/run.sh: installs pcscd and vsmartcard-vpcd as root, starts
#    pcscd in private namespaces and stops it by its PID), and private
#    PostgreSQL servers for the key service's tests (scripts/postgres: as
#    root, installs Debian's postgresql first, since the PC/SC wrapper runs
#    its command without network; initdb in a temporary directory as an
#    unprivileged user, Unix socket only, no TCP port; stopped by PID);
# 3. the PKCS#11 tests (keyuri, cmd/dkey; -tags pkcs11 and cgo, which the
#    default build does without) against a fresh SoftHSM2 token
#    (scripts/softhsm/run.sh: installs softhsm2 as root, initialises a token
#    in a temporary directory and deletes it afterwards);
# 4. go test -race on the conformance module (Wycheproof vectors), which is a
#    module of its own so that its test-only dependency does not raise the
#    main module's go directive.
#
# Every fuzz target's seed corpus runs as part of go test. Without root the
# PC/SC, PostgreSQL and PKCS#11 tests skip and say why; with CI=true a skip is
# a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

staticcheck="go run honnef.co/go/tools/cmd/staticcheck@v0.8.2"
go vet ./...
CGO_ENABLED=1 go vet -tags pkcs11 ./keyuri ./cmd/dkey
$staticcheck ./...
(cd conformance && go vet ./... && $staticcheck ./...)
bash scripts/postgres/install.sh
bash scripts/pcsc/run.sh bash scripts/postgres/run.sh go test -race -count=1 ./...
CGO_ENABLED=1 bash scripts/softhsm/run.sh go test -race -count=1 -tags pkcs11 ./keyuri ./cmd/dkey
(cd conformance && go test -race -count=1 ./...)
