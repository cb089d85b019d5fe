#!/usr/bin/env bash
# Runs a command with a private pcscd that has the vpcd driver, so that the
# PC/SC integration tests (transport/pcsc, gated on OPENCARKEY_PCSC=1) run
# against the real middleware:
#
#   scripts/pcsc/run.sh go test ./transport/pcsc/...
#   scripts/pcsc/run.sh go test ./...                      (the whole suite)
#
# As root, it installs pcscd and vsmartcard-vpcd when missing
# (scripts/pcsc/install.sh), downloads the Go modules, then enters new network
# and mount namespaces (unshare -n -m): loopback only, so vpcd's listeners
# (which bind every address) are never reachable from outside, and a private
# tmpfs on /run/pcscd, where pcscd puts its socket (the path is compiled in),
# so that a system pcscd is neither seen nor disturbed. There it starts
# `pcscd -f` with a reader.conf.d of its own: one vpcd entry on port 35963,
# which vpcd turns into two readers, "Virtual PCD 00 00" (card port 35963) and
# "Virtual PCD 00 01" (card port 35964). It runs the command with
# OPENCARKEY_PCSC=1 and PCSCLITE_CSOCK_NAME set, stops pcscd by its PID, and
# exits with the command's status.
#
# Without root, or where the packages cannot be installed, it runs the command
# without pcscd: the integration tests then skip and say how to enable them.
# Under CI (CI=true) that is an error: the script fails before the command.
#
# Environment: PCSCD_FLAGS adds flags to pcscd (e.g. "-d -a" for debug and
# APDU logs); PCSCD_LOG names a file to copy pcscd's log to at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sock_dir=/run/pcscd
vpcd_driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

if [ $# -eq 0 ]; then
	echo "usage: scripts/pcsc/run.sh command [args...]" >&2
	exit 2
fi

if [ "${1:-}" = "--inside" ]; then
	shift
	# In the private namespaces.
	ip link set lo up
	mkdir -p "$sock_dir"
	mount -t tmpfs -o mode=0755 tmpfs "$sock_dir"
	work=$(mktemp -d)
	conf="$work/reader.conf.d"
	mkdir "$conf"
	# DEVICENAME /dev/null:PORT makes vpcd listen (rather than connect) on
	# PORT and PORT+1, one per slot; CHANNELID is the same port.
	cat >"$conf/vpcd" <<-EOF
		FRIENDLYNAME "Virtual PCD"
		DEVICENAME   /dev/null:0x8C7B
		LIBPATH      $vpcd_driver
		CHANNELID    0x8C7B
	EOF
	# shellcheck disable=SC2086 # PCSCD_FLAGS is a list of flags, e.g. "-d -a"
	pcscd -f -c "$conf" ${PCSCD_FLAGS:-} >"$work/pcscd.log" 2>&1 &
	pcscd_pid=$!
	stop_pcscd() {
		if kill -0 "$pcscd_pid" 2>/dev/null; then
			kill -TERM "$pcscd_pid" 2>/dev/null || true
			for _ in $(seq 50); do
				kill -0 "$pcscd_pid" 2>/dev/null || break
				sleep 0.1
			done
			kill -KILL "$pcscd_pid" 2>/dev/null || true
		fi
		wait "$pcscd_pid" 2>/dev/null || true
	}
	trap 'stop_pcscd; rm -rf "$work"' EXIT
	for _ in $(seq 100); do
		[ -S "$sock_dir/pcscd.comm" ] && break
		if ! kill -0 "$pcscd_pid" 2>/dev/null; then
			echo "scripts/pcsc/run.sh: pcscd exited at start:" >&2
			cat "$work/pcscd.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if [ ! -S "$sock_dir/pcscd.comm" ]; then
		echo "scripts/pcsc/run.sh: pcscd did not create its socket in 10 s:" >&2
		cat "$work/pcscd.log" >&2
		exit 1
	fi
	status=0
	OPENCARKEY_PCSC=1 PCSCLITE_CSOCK_NAME="$sock_dir/pcscd.comm" "$@" || status=$?
	if [ "$status" -ne 0 ]; then
		echo "scripts/pcsc/run.sh: command exited with $status; pcscd log (last 40 lines):" >&2
		tail -n 40 "$work/pcscd.log" >&2
	fi
	if [ -n "${PCSCD_LOG:-}" ]; then
		cp "$work/pcscd.log" "$PCSCD_LOG"
	fi
	exit "$status"
fi

why=""
if [ "$(id -u)" -ne 0 ]; then
	why="not root"
elif ! "$here/install.sh"; then
	why="pcscd or vsmartcard-vpcd could not be installed"
elif ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
	why="unshare or ip missing"
elif [ ! -e "$vpcd_driver" ]; then
	why="$vpcd_driver missing"
fi
if [ -n "$why" ]; then
	if [ "${CI:-}" = "true" ]; then
		echo "scripts/pcsc/run.sh: cannot start a private pcscd ($why); CI needs the PC/SC tests" >&2
		exit 1
	fi
	echo "scripts/pcsc/run.sh: $why: running without pcscd; the PC/SC integration tests will skip" >&2
	exec "$@"
fi

# The namespace has no network: fetch Go modules now.
if [ "${1:-}" = "go" ] && [ -f go.mod ]; then
	go mod download
fi
exec unshare --net --mount --propagation private -- bash "$here/run.sh" --inside "$@"
