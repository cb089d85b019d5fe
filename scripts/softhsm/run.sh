#!/usr/bin/env bash
# Runs a command with a fresh SoftHSM2 token, so that the PKCS#11 tests
# (package keyuri and cmd/dkey, built with -tags pkcs11 and cgo) run against
# a real PKCS#11 module:
#
#   CGO_ENABLED=1 scripts/softhsm/run.sh go test -tags pkcs11 ./keyuri ./cmd/dkey
#   scripts/softhsm/run.sh scripts/pcsc/run.sh go test ./...   (with the other wrappers)
#
# As root, it installs softhsm2 when missing (scripts/softhsm/install.sh),
# downloads the Go modules when the command is `go ...`, then initialises one
# token in a temporary directory of its own (SOFTHSM2_CONF points at a
# configuration whose token directory is there, so the machine's tokens are
# neither seen nor changed), with a random user PIN and security-officer PIN.
# It runs the command with
#
#   OPENCARKEY_PKCS11_MODULE   the path of the SoftHSM2 PKCS#11 module
#   OPENCARKEY_PKCS11_TOKEN    the token's label
#   OPENCARKEY_PKCS11_PIN      the token's user PIN
#   SOFTHSM2_CONF              the private configuration
#
# then deletes the directory, tokens and keys included, and exits with the
# command's status. The wrapped command may itself be another wrapper
# (scripts/pcsc/run.sh): the variables and the directory carry through.
#
# Without root, or where softhsm2 cannot be installed, it runs the command
# without a token: the PKCS#11 tests then skip and say how to enable them.
# Under CI (CI=true) that is an error: the script fails before the command.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
label=opencarkey-test

if [ $# -eq 0 ]; then
	echo "usage: scripts/softhsm/run.sh command [args...]" >&2
	exit 2
fi

find_module() {
	for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
		if [ -e "$m" ]; then
			echo "$m"
			return 0
		fi
	done
	return 1
}

why=""
module=""
if ! "$here/install.sh"; then
	why="softhsm2 is missing and could not be installed (run as root on Debian)"
elif ! command -v softhsm2-util >/dev/null; then
	why="softhsm2-util missing"
elif ! module=$(find_module); then
	why="the SoftHSM2 PKCS#11 module (libsofthsm2.so) was not found"
fi
if [ -n "$why" ]; then
	if [ "${CI:-}" = "true" ]; then
		echo "scripts/softhsm/run.sh: cannot set up a SoftHSM2 token ($why); CI needs the PKCS#11 tests" >&2
		exit 1
	fi
	echo "scripts/softhsm/run.sh: $why: running without a token; the PKCS#11 tests will skip" >&2
	exec "$@"
fi

if [ "${1:-}" = "go" ] && [ -f go.mod ]; then
	go mod download
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tokens"
cat >"$work/softhsm2.conf" <<-CONF
	directories.tokendir = $work/tokens
	objectstore.backend = file
	log.level = ERROR
	slots.removable = false
CONF
export SOFTHSM2_CONF="$work/softhsm2.conf"
pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
so_pin=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
if ! softhsm2-util --init-token --free --label "$label" --pin "$pin" --so-pin "$so_pin" >"$work/init.log" 2>&1; then
	echo "scripts/softhsm/run.sh: softhsm2-util could not initialise the token:" >&2
	cat "$work/init.log" >&2
	exit 1
fi

status=0
OPENCARKEY_PKCS11_MODULE="$module" OPENCARKEY_PKCS11_TOKEN="$label" OPENCARKEY_PKCS11_PIN="$pin" "$@" || status=$?
if [ "$status" -ne 0 ]; then
	echo "scripts/softhsm/run.sh: command exited with $status" >&2
fi
exit "$status"
