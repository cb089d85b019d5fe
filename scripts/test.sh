#!/usr/bin/env bash
# The whole test suite of the SDK, on a fresh machine:
#
#   bash scripts/test.sh
#
# It checks formatting, runs go vet, then every test of every package with
# the race detector (plain `go test` also runs every fuzz target's seed
# corpus), with a private pcscd and the vpcd virtual reader for the PC/SC
# integration tests (scripts/pcsc/run.sh: as root it installs pcscd and
# vsmartcard-vpcd from Debian when missing, runs pcscd in private network
# and mount namespaces, and stops it by its PID). Without root the PC/SC
# integration tests skip and say how to enable them; with CI=true a skip is
# a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

go version
go mod download
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
bash scripts/pcsc/run.sh go test -race -count=1 ./...
