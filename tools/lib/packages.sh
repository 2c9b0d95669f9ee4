# Sourced by tools/demo.sh and tools/test.sh: install the Debian packages
# listed in the caller's PACKAGES array that are missing, with one
# `apt-get update`; nothing to do (and no root needed) when all are there.
# Expects log and die to be defined by the caller.

pkg_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

ensure_packages() {
	local missing=() p
	if ! command -v dpkg-query >/dev/null 2>&1; then
		log "no dpkg: not installing anything; the build will say what is missing"
		return 0
	fi
	for p in "${PACKAGES[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		log "all packages present: ${PACKAGES[*]}"
		return 0
	fi
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null 2>&1 ||
			die "not root and no sudo: please install ${missing[*]}"
		sudo=(sudo)
	fi
	log "installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}
