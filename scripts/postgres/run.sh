#!/usr/bin/env bash
# Runs a command with a private PostgreSQL server, so that the tests of the
# key service's PostgreSQL store (keyservice/pgstore, and the end-to-end,
# fault and load tests of keyservice and cmd/dkserver) run against a real
# database:
#
#   bash scripts/postgres/run.sh go test ./keyservice/...
#   bash scripts/pcsc/run.sh bash scripts/postgres/run.sh go test -race -count=1 ./...
#
# As root, it installs Debian's postgresql when missing
# (scripts/postgres/install.sh), creates a temporary directory owned by an
# unprivileged user (postgres, or nobody), and there, as that user, two
# servers: initdb (trust authentication, superuser "dk"), then a start with
# no TCP port (listen_addresses='') and the Unix socket in the server's own
# directory. The first is for every test; the second only for the test that
# restarts its server under load, so that the restart disturbs no other
# package's tests running at the same time. It exports:
#
#   OPENCARKEY_POSTGRES_URL          postgres://dk@/postgres?host=<dir>/main, the
#                                    administrative database; each test creates
#                                    and drops its own
#   OPENCARKEY_POSTGRES_RESTART_URL  the same for the second server
#   OPENCARKEY_POSTGRES_RESTART      a script that restarts the second server
#                                    (immediate shutdown, as a crash: no checkpoint;
#                                    recovery from the WAL at the start on the same data)
#
# runs the command, stops both servers by their PIDs (from postmaster.pid,
# which a restart updates), removes the directory, and exits with the
# command's status.
#
# It composes with scripts/pcsc/run.sh, which runs its command inside
# unshare -n -m: PostgreSQL needs no network (Unix socket only), but apt-get
# does, so run scripts/postgres/install.sh before the PC/SC wrapper on a
# fresh machine (the README's test command does).
#
# Without root, or where the server cannot be installed or started, it runs
# the command without PostgreSQL: the PostgreSQL tests then skip and say how
# to enable them. Under CI (CI=true) that is an error: the script fails
# before the command.
#
# Environment: POSTGRES_FLAGS adds server options (e.g. "-c log_statement=all");
# POSTGRES_LOG names a file to copy the server's log to at the end.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -eq 0 ]; then
	echo "usage: scripts/postgres/run.sh command [args...]" >&2
	exit 2
fi

bindir=""
find_server() {
	bindir=""
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			bindir=$d
		fi
	done
	[ -n "$bindir" ]
}

why=""
if [ "$(id -u)" -ne 0 ]; then
	why="not root"
else
	CI= bash "$here/install.sh" || true
	if ! find_server; then
		why="postgresql is not installed and could not be (run scripts/postgres/install.sh outside the PC/SC wrapper, with network)"
	elif ! command -v runuser >/dev/null; then
		why="runuser (util-linux) missing"
	fi
fi
if [ -n "$why" ]; then
	if [ "${CI:-}" = "true" ]; then
		echo "scripts/postgres/run.sh: cannot start a private PostgreSQL ($why); CI needs the PostgreSQL tests" >&2
		exit 1
	fi
	echo "scripts/postgres/run.sh: $why: running without PostgreSQL; the PostgreSQL tests will skip" >&2
	exec "$@"
fi

user=nobody
if id postgres >/dev/null 2>&1; then
	user=postgres
fi
work=$(mktemp -d /tmp/dk-postgres.XXXXXX)
chmod 700 "$work"
chown "$user" "$work"
as_user() { runuser -u "$user" -- "$@"; }
servers=(main restart)

server_pid() {
	if [ -r "$work/$1/data/postmaster.pid" ]; then
		head -n 1 "$work/$1/data/postmaster.pid"
	fi
}
stop_server() {
	local pid
	pid=$(server_pid "$1")
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
}
finish() {
	for name in "${servers[@]}"; do
		stop_server "$name"
	done
	if [ -n "${POSTGRES_LOG:-}" ]; then
		cat "$work"/*/postgres.log >"$POSTGRES_LOG" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap finish EXIT
# A signal ends the script through its EXIT trap, which stops the servers.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server NAME: initdb and start a server in $work/NAME.
start_server() {
	local dir="$work/$1"
	as_user mkdir "$dir"
	if ! as_user "$bindir/initdb" -D "$dir/data" -U dk --auth=trust --encoding=UTF8 --no-instructions >"$dir/initdb.log" 2>&1; then
		echo "scripts/postgres/run.sh: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		exit 1
	fi
	# Server options: no TCP, the socket in the server's directory, room
	# for the load tests' pools.
	local opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c max_connections=300 ${POSTGRES_FLAGS:-}"
	if ! as_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "$opts" -w -t 60 start >"$dir/pg_ctl.log" 2>&1; then
		echo "scripts/postgres/run.sh: the server did not start:" >&2
		cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2 || true
		exit 1
	fi
}
for name in "${servers[@]}"; do
	start_server "$name"
done

cat >"$work/restart.sh" <<-RESTART
	#!/usr/bin/env bash
	# Restarts the second private PostgreSQL of scripts/postgres/run.sh: an
	# immediate shutdown, as a crash (no checkpoint; open transactions are
	# lost, committed ones are in the WAL), then a start on the same data
	# directory and options, which recovers from the WAL.
	# Restarts by tests of two packages, which go test runs at the same
	# time, take turns.
	set -euo pipefail
	# The server pg_ctl starts must not inherit the lock's descriptor.
	exec 9>"$work/restart.lock"
	flock 9
	runuser -u "$user" -- "$bindir/pg_ctl" -D "$work/restart/data" -l "$work/restart/postgres.log" -m immediate -w -t 60 restart 9>&-
RESTART
chmod 755 "$work/restart.sh"

# The modules must be there before a network namespace takes the network.
if [ "${1:-}" = "go" ] && [ -f go.mod ]; then
	go mod download 2>/dev/null || true
fi

status=0
OPENCARKEY_POSTGRES_URL="postgres://dk@/postgres?host=$work/main" \
	OPENCARKEY_POSTGRES_RESTART_URL="postgres://dk@/postgres?host=$work/restart" \
	OPENCARKEY_POSTGRES_RESTART="$work/restart.sh" "$@" || status=$?
if [ "$status" -ne 0 ]; then
	echo "scripts/postgres/run.sh: command exited with $status; server log (last 40 lines):" >&2
	tail -n 40 "$work/main/postgres.log" >&2 || true
fi
exit "$status"
