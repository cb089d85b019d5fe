#!/usr/bin/env bash
# Installs what the PC/SC integration tests need: pcscd (pcsc-lite) and the
# vpcd virtual reader driver (vsmartcard), from Debian's packages.
#
# Usage: scripts/pcsc/install.sh        (as root; does nothing when both are there)
#
# Exit status: 0 when both are installed afterwards; 1 when they are missing
# and cannot be installed here (not root, or not Debian).
set -euo pipefail

packages=(pcscd vsmartcard-vpcd)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${packages[@]}"; do
	if ! command -v dpkg-query >/dev/null || ! installed "$p"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "scripts/pcsc/install.sh: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null; then
	echo "scripts/pcsc/install.sh: missing ${missing[*]} and no apt-get to install them" >&2
	exit 1
fi

echo "scripts/pcsc/install.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package lists may be absent on a fresh machine; refresh them only if the
# first attempt cannot find the packages.
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
for p in "${missing[@]}"; do
	installed "$p" || { echo "scripts/pcsc/install.sh: $p did not install" >&2; exit 1; }
done
