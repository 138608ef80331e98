# shellcheck shell=bash
# A Debian bookworm root made with debootstrap, the way scripts/check-pi (arm64 under
# emulation) and appliance/rig/nspawn.py (amd64, booted with systemd-nspawn) both cache one.
#
#     source scripts/lib/debian-root.sh
#     debian_root_debootstrap ARCH PACKAGES DEBS DEST  # minbase + PACKAGES (comma-separated),
#                                                      # .debs cached in DEBS; apt sources set
#     debian_root_network_into ROOT                    # this machine's resolver and CAs
#
# or as a command: `bash scripts/lib/debian-root.sh FUNCTION ARGS...`.
# The mirrors: APPLIANCE_DEBIAN_MIRROR, APPLIANCE_DEBIAN_SECURITY_MIRROR (deb.debian.org).
# Needs root (debootstrap).

SUITE=bookworm
MIRROR="${APPLIANCE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${APPLIANCE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

# The host's resolver and certificate authorities (apt and pip must reach the archives the way
# this machine does, e.g. through a proxy with its own CA).
debian_root_network_into() {
    local root="$1"
    rm -f "$root/etc/resolv.conf"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        mkdir -p "$root/usr/local/share/ca-certificates"
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    fi
    if [[ -f /etc/ssl/certs/ca-certificates.crt && -d "$root/etc/ssl/certs" ]]; then
        cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    fi
}

# debian_root_debootstrap ARCH PACKAGES DEBS DEST: a fresh minbase root in DEST (which must
# not exist), with PACKAGES, the suite's main, -updates and -security sources, and this
# machine's network settings.
debian_root_debootstrap() {
    local arch="$1" packages="$2" debs="$3" dest="$4"
    mkdir -p "$debs"
    debootstrap --arch="$arch" --variant=minbase --include="$packages" \
        --cache-dir="$debs" "$SUITE" "$dest" "$MIRROR"
    cat >"$dest/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SOURCES
    debian_root_network_into "$dest"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
        debian_root_debootstrap | debian_root_network_into) "$@" ;;
        *) echo "usage: $0 debian_root_debootstrap|debian_root_network_into ARGS..." >&2; exit 2 ;;
    esac
fi
