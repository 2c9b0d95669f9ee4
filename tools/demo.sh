#!/usr/bin/env bash
# Set up, build and run the storagebox demo: the movie-store story on SQLite
# (no server, no arguments). Works on a fresh Debian 12 machine as root, or
# as a user with sudo. Re-running reuses build/.
#
#   bash tools/demo.sh
#
# Exit status: the demo's (0 when the box law held).
set -euo pipefail

# Run from the repository root, wherever we were called from.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What the build needs (Debian package names).
# (libc6-dev, only recommended by gcc, comes as a dependency of
# libsqlite3-dev; python3 comes with meson.)
PACKAGES=(meson ninja-build gcc pkg-config libsqlite3-dev)

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=tools/lib/packages.sh
. tools/lib/packages.sh

# Run a step quietly; on failure show its output and stop.
quiet() {
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" >&2
		die "failed: $*"
	fi
}

# Configure build/ (or refresh it if it exists), then build the CLI only.
build() {
	if [ -f build/meson-private/coredata.dat ]; then
		log "reconfiguring build/"
		quiet meson setup --reconfigure build
	else
		log "configuring build/"
		quiet meson setup build
	fi
	log "building build/tools/storagebox"
	quiet ninja -C build tools/storagebox
}

ensure_packages
build
log "running build/tools/storagebox demo"
exec build/tools/storagebox demo
