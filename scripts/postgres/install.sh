#!/usr/bin/env bash
# Installs what the PostgreSQL tests need: Debian's postgresql package (the
# server binaries under /usr/lib/postgresql/<major>/bin), without letting
# the package create or start a system cluster: the tests run their own
# (scripts/postgres/run.sh), with no TCP port.
#
# Usage: scripts/postgres/install.sh      (as root; does nothing when installed)
#
# Run it before scripts/pcsc/run.sh when the two wrappers are composed: the
# PC/SC wrapper runs its command without network (unshare -n), where
# apt-get cannot download.
#
# Exit status: 0 when the server binaries are there afterwards, or when they
# are missing and cannot be installed here (not root, no apt-get, no
# network) and CI is not "true" (scripts/postgres/run.sh then runs the
# command without PostgreSQL, and the tests skip and say why); 1 otherwise.
set -euo pipefail

have_server() {
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			return 0
		fi
	done
	return 1
}

if have_server; then
	exit 0
fi

cannot() {
	echo "scripts/postgres/install.sh: postgresql is missing and $1" >&2
	if [ "${CI:-}" = "true" ]; then
		exit 1
	fi
	exit 0
}

if [ "$(id -u)" -ne 0 ]; then
	cannot "installing it needs root"
fi
if ! command -v apt-get >/dev/null; then
	cannot "there is no apt-get to install it"
fi

echo "scripts/postgres/install.sh: installing postgresql" >&2
export DEBIAN_FRONTEND=noninteractive
# The package would create a cluster listening on port 5432 and start it.
# Neither: no main cluster (postgresql-common's createcluster.conf), and no
# service start (a policy-rc.d that refuses, removed afterwards).
mkdir -p /etc/postgresql-common
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
fi
policy=/usr/sbin/policy-rc.d
placed_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	placed_policy=1
fi
cleanup() {
	if [ -n "$placed_policy" ]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT
# Package lists may be absent on a fresh machine; refresh them only if the
# first attempt cannot find the package.
if ! apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1; then
	if ! { apt-get update -q >/dev/null 2>&1 && apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1; }; then
		cannot "apt-get could not install it (no network?)"
	fi
fi
if ! have_server; then
	cannot "the package installed no server binaries"
fi
