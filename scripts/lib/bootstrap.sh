# shellcheck shell=bash
# Shared setup for the repository's scripts (test, demo, bench). Source it from bash:
#
#     source "$(dirname "${BASH_SOURCE[0]}")/lib/bootstrap.sh"
#
# On a fresh Debian 12 / Raspberry Pi OS Bookworm machine it
#   1. checks the system packages in APPLIANCE_APT_PACKAGES and installs the missing ones with
#      apt-get when running as root (otherwise prints the exact sudo command and exits 1);
#   2. creates the virtualenv .venv/ at the repository root if it is missing, and rebuilds it
#      when it was made at another path or with another Python (it is never committed);
#   3. runs `pip install -e '.[dev,server]'` when pyproject.toml or the checkout's path changed since
#      the last install (a stamp file inside .venv/ remembers both), so re-runs take a
#      fraction of a second;
#   4. fails if `appliance` is then imported from anywhere but this checkout.
#
# Afterwards APPLIANCE_ROOT is the repository root, APPLIANCE_VENV the virtualenv, and the
# virtualenv's bin/ is first on PATH. Set APPLIANCE_SKIP_APT=1 to skip step 1 (e.g. on a
# system that is not Debian-based and was prepared by hand).

APPLIANCE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
APPLIANCE_VENV="$APPLIANCE_ROOT/.venv"
export APPLIANCE_ROOT APPLIANCE_VENV

# System packages, one list. Add to it here.
#   python3-venv python3-dev gcc   the virtualenv and building wheels without binaries
#   portaudio19-dev                PortAudio headers and library, to build and run PyAudio
#   libasound2-plugins             ALSA's "pulse" device, through which PortAudio reaches PulseAudio
#   pulseaudio pulseaudio-utils    the virtual sound server of the tests (pactl, parec, paplay)
#   espeak-ng sox                  speech and test WAVs
#   systemd                        systemd-analyze (unit checks)
APPLIANCE_APT_PACKAGES=(
    python3-venv python3-dev gcc
    portaudio19-dev libasound2-plugins
    pulseaudio pulseaudio-utils
    espeak-ng sox
    systemd
)
# pygame's wheels bundle SDL2 on x86_64 and aarch64; 32-bit Raspberry Pi OS (piwheels) links
# against the system's SDL2 libraries.
case "$(uname -m)" in
    armv6l | armv7l)
        APPLIANCE_APT_PACKAGES+=(libsdl2-2.0-0 libsdl2-ttf-2.0-0 libsdl2-image-2.0-0
            libsdl2-mixer-2.0-0)
        ;;
esac
# Installed when we can (root), never required: a virtual X display for windowed runs, and
# the screen's font (DejaVu: every letter of the shipped languages; pygame's bundled font is the
# fallback, and the tests check both). Prometheus, promtool and node_exporter for the metrics
# tests (tests/integration/test_metrics_prometheus.py; they skip without them): 27 MB to
# download, about a minute to install. The tests run their own (appliance.rig.prometheus, on
# loopback ports): the services the packages start where systemd runs (ports 9090 and 9100 on
# every address) are stopped and disabled again when this script installed them. The boot
# test bed (appliance/rig/nspawn.py): containers (systemd-nspawn), their cached Debian root
# (debootstrap) and SSH to them (openssh-client).
APPLIANCE_APT_OPTIONAL=(xvfb fonts-dejavu-core prometheus prometheus-node-exporter
    systemd-container debootstrap openssh-client)
APPLIANCE_TEST_ONLY_SERVICES=(prometheus prometheus-node-exporter)

appliance_die() {
    echo "error: $*" >&2
    exit 1
}

# Print the packages of "$@" that are not installed.
appliance_missing_packages() {
    local pkg status
    for pkg in "$@"; do
        status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
        [[ "$status" == "installed" ]] || printf '%s\n' "$pkg"
    done
}

# apt-get install "$@", with one `apt-get update` and a retry if the first attempt fails
# (empty or stale package lists). Output goes to a log that is shown only on failure.
appliance_apt_install() {
    local log
    log="$(mktemp)"
    echo "installing system packages: $*" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" \
        >"$log" 2>&1; then
        if ! { DEBIAN_FRONTEND=noninteractive apt-get update \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; } \
            >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            return 1
        fi
    fi
    rm -f "$log"
}

# Stop and disable the services of the packages in "$@" that are in
# APPLIANCE_TEST_ONLY_SERVICES (just installed for the tests), where systemd runs.
appliance_stop_test_services() {
    local pkg service
    [[ -d /run/systemd/system ]] || return 0
    for pkg in "$@"; do
        for service in "${APPLIANCE_TEST_ONLY_SERVICES[@]}"; do
            if [[ "$pkg" == "$service" ]]; then
                systemctl disable --now "$service.service" >/dev/null 2>&1 || true
            fi
        done
    done
}

appliance_check_system() {
    [[ "${APPLIANCE_SKIP_APT:-0}" == 1 ]] && return 0
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "warning: not a Debian-based system; make sure these (or their equivalents) are" \
            "installed: ${APPLIANCE_APT_PACKAGES[*]}" >&2
        return 0
    fi
    local missing optional
    mapfile -t missing < <(appliance_missing_packages "${APPLIANCE_APT_PACKAGES[@]}")
    mapfile -t optional < <(appliance_missing_packages "${APPLIANCE_APT_OPTIONAL[@]}")
    if ((${#missing[@]})); then
        if [[ "$(id -u)" == 0 ]]; then
            appliance_apt_install "${missing[@]}" \
                || appliance_die "could not install the system packages: ${missing[*]}"
        else
            echo "error: missing system packages: ${missing[*]}" >&2
            echo "install them with:" >&2
            echo "    sudo apt-get install -y ${missing[*]}" >&2
            exit 1
        fi
    fi
    if ((${#optional[@]})) && [[ "$(id -u)" == 0 ]]; then
        appliance_apt_install "${optional[@]}" \
            || echo "warning: optional packages not installed: ${optional[*]}" >&2
        appliance_stop_test_services "${optional[@]}"
    fi
    return 0
}

# Print why the virtualenv at APPLIANCE_VENV cannot serve this checkout, or nothing if it can.
# A virtualenv is tied to the path it was made at (its scripts' #! lines) and to the Python
# that made it (pyvenv.cfg's home and version); one copied from elsewhere, or left by another
# Python, is rebuilt rather than trusted.
appliance_venv_problem() {
    local python="$1" cfg="$APPLIANCE_VENV/pyvenv.cfg" home version want_version
    [[ -x "$APPLIANCE_VENV/bin/python" ]] || { echo "it has no bin/python"; return; }
    [[ -f "$cfg" ]] || { echo "it has no pyvenv.cfg"; return; }
    home="$(sed -n 's/^home *= *//p' "$cfg")"
    version="$(sed -n 's/^version\(_info\)\? *= *//p' "$cfg" | head -n1)"
    [[ -d "$home" ]] || { echo "the Python it was made with ($home) is gone"; return; }
    want_version="$("$python" -c 'import platform; print(platform.python_version())' 2>/dev/null)"
    if [[ -n "$want_version" && "${version%.*}" != "${want_version%.*}" ]]; then
        echo "it was made with Python $version, not $want_version"
        return
    fi
    "$APPLIANCE_VENV/bin/python" -c 'import sys' 2>/dev/null || { echo "its python does not run"; return; }
    local script first
    for script in "$APPLIANCE_VENV"/bin/pip "$APPLIANCE_VENV"/bin/pytest; do
        [[ -f "$script" ]] || continue
        first="$(head -n1 "$script")"
        if [[ "$first" != "#!$APPLIANCE_VENV/bin/python"* ]]; then
            echo "it was made for another path (${script##*/} starts with ${first})"
            return
        fi
    done
}

# Print the directory `appliance` is imported from by the virtualenv's Python (empty if none).
appliance_import_dir() {
    (cd / && "$APPLIANCE_VENV/bin/python" -c \
        'import os, appliance; print(os.path.dirname(os.path.realpath(appliance.__file__)))' \
        2>/dev/null) || true
}

appliance_check_venv() {
    local python="${APPLIANCE_PYTHON:-python3}" problem
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || appliance_die "Python >= 3.11 is needed; $python is $("$python" --version 2>&1)"
    if [[ -e "$APPLIANCE_VENV" ]]; then
        problem="$(appliance_venv_problem "$python")"
        if [[ -n "$problem" ]]; then
            echo "rebuilding the virtualenv $APPLIANCE_VENV: $problem" >&2
            rm -rf "$APPLIANCE_VENV"
        fi
    fi
    if [[ ! -x "$APPLIANCE_VENV/bin/python" ]]; then
        echo "creating the virtualenv $APPLIANCE_VENV" >&2
        "$python" -m venv "$APPLIANCE_VENV" \
            || appliance_die "python3 -m venv failed (is python3-venv installed?)"
    fi
    # The stamp names the checkout and pyproject.toml's content: either changing reinstalls.
    local stamp="$APPLIANCE_VENV/.appliance-installed" want have="" log
    want="$APPLIANCE_ROOT $(sha256sum "$APPLIANCE_ROOT/pyproject.toml" | cut -d' ' -f1)"
    [[ -f "$stamp" ]] && have="$(cat "$stamp")"
    if [[ "$want" != "$have" || "$(appliance_import_dir)" != "$APPLIANCE_ROOT/appliance" ]]; then
        echo "installing the appliance and its Python dependencies into .venv" >&2
        log="$(mktemp)"
        if ! (cd "$APPLIANCE_ROOT" && "$APPLIANCE_VENV/bin/python" -m pip install \
            --disable-pip-version-check -q -e '.[dev,server]') >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            appliance_die "pip install -e '.[dev,server]' failed (output above)"
        fi
        rm -f "$log"
        echo "$want" >"$stamp"
    fi
    local found
    found="$(appliance_import_dir)"
    [[ "$found" == "$APPLIANCE_ROOT/appliance" ]] \
        || appliance_die "the virtualenv imports appliance from '${found:-nowhere}'," \
            "not from this checkout ($APPLIANCE_ROOT/appliance); remove $APPLIANCE_VENV and retry"
}

appliance_check_system
appliance_check_venv
export PATH="$APPLIANCE_VENV/bin:$PATH"
