#!/usr/bin/env bash
# Installs SoftHSM2 (Debian package softhsm2: the PKCS#11 module and
# softhsm2-util), which the PKCS#11 tests of package keyuri and cmd/dkey use
# as their HSM.
#
# Usage: scripts/softhsm/install.sh        (as root; does nothing when it is there)
#
# Exit status: 0 when softhsm2 is installed afterwards; 1 when it is missing
# and cannot be installed here (not root, or not Debian).
set -euo pipefail

installed() {
	dpkg-query -W -f='${Status}' softhsm2 2>/dev/null | grep -q '^install ok installed$'
}

if command -v dpkg-query >/dev/null && installed; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/softhsm/install.sh: softhsm2 is missing; run as root to install it" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null; then
	echo "scripts/softhsm/install.sh: softhsm2 is missing and there is no apt-get to install it" >&2
	exit 1
fi

echo "scripts/softhsm/install.sh: installing softhsm2" >&2
export DEBIAN_FRONTEND=noninteractive
# Package lists may be absent on a fresh machine; refresh them only if the
# first attempt cannot find the package.
if ! apt-get install -y --no-install-recommends softhsm2 >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y --no-install-recommends softhsm2 >/dev/null
fi
installed || { echo "scripts/softhsm/install.sh: softhsm2 did not install" >&2; exit 1; }
