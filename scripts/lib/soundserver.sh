#!/usr/bin/env bash
# shellcheck shell=bash
# A virtual sound server (PulseAudio with null sinks) for tests, the demo and the bench, so the
# real audio path (PyAudio -> PortAudio -> ALSA "pulse"/"default" -> PulseAudio) runs on a
# machine without a sound card.
#
# Topology:
#
#     appliance --plays--> [appliance_out]  (null sink, default sink)
#                               `--> appliance_out.monitor   record this to hear what it plays
#
#     paplay --device=appliance_mic --> [appliance_mic]  (null sink)
#                               `--> appliance_mic.monitor   default source = the virtual mic
#                                      `--> appliance captures it
#
#     appliance_out.monitor, appliance_mic.monitor --loopback, 20 ms--> [appliance_drain]
#
# The two loopbacks into appliance_drain (a third null sink nobody listens to) keep both sinks
# running with a short latency. Without a low-latency client a null sink sleeps for up to 2 s
# at a time, and a stream that connects then waits for that sleep to end before any audio
# moves (PortAudio sees its first callbacks 0-2 s late). The suspend/resume at the end of the
# setup makes the sinks pick up the short latency at once.
#
# The server is private: its own runtime directory (default /tmp/appliance-sound-<uid>), its own
# socket, no hardware modules, no D-Bus, so it neither needs nor touches a desktop sound setup.
# Clients find it through PULSE_SERVER; ALSA's pulse plugin (libasound2-plugins) then routes
# ALSA's "default" and "pulse" devices, which PortAudio lists, to it.
#
# Sourced:   source scripts/lib/soundserver.sh
#            appliance_sound_start [DIR]   start (idempotent) and export PULSE_SERVER
#            appliance_sound_stop [DIR]    stop the server started in DIR
# Executed:  scripts/lib/soundserver.sh start [DIR]   prints PULSE_SERVER=... on stdout
#            scripts/lib/soundserver.sh stop [DIR]
#
# Running as root works (PulseAudio warns that it is not meant to, and carries on): the
# daemon gets --system=no plus an explicit runtime and state directory instead of the missing
# XDG_RUNTIME_DIR, and the socket allows anonymous clients so no cookie file is needed.

appliance_sound_dir() {
    printf '%s\n' "${1:-${APPLIANCE_SOUND_DIR:-/tmp/appliance-sound-$(id -u)}}"
}

# True when a server answers on DIR's socket.
appliance_sound_running() {
    local dir
    dir="$(appliance_sound_dir "${1:-}")"
    [[ -S "$dir/native" ]] && PULSE_SERVER="unix:$dir/native" pactl info >/dev/null 2>&1
}

appliance_sound_start() {
    local dir server
    dir="$(appliance_sound_dir "${1:-}")"
    server="unix:$dir/native"
    command -v pulseaudio >/dev/null 2>&1 \
        || { echo "error: pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils)" >&2; return 1; }
    if ! appliance_sound_running "$dir"; then
        mkdir -p "$dir"
        chmod 700 "$dir"
        rm -f "$dir/native" "$dir/pid"
        if ! XDG_RUNTIME_DIR="$dir" PULSE_RUNTIME_PATH="$dir" PULSE_STATE_PATH="$dir" \
            pulseaudio -n --daemonize=yes --system=no --exit-idle-time=-1 \
            --use-pid-file=yes --log-target="file:$dir/log" \
            -L "module-native-protocol-unix socket=$dir/native auth-anonymous=1" \
            >/dev/null 2>&1; then
            echo "error: pulseaudio did not start; its log:" >&2
            cat "$dir/log" >&2 2>/dev/null
            return 1
        fi
        local tries=0
        until appliance_sound_running "$dir"; do
            ((tries++ < 100)) || { echo "error: pulseaudio does not answer on $server" >&2; return 1; }
            sleep 0.05
        done
    fi
    # Sinks are (re)loaded when missing, so a server someone else started is completed too.
    local sinks
    sinks="$(PULSE_SERVER="$server" pactl list short sinks 2>/dev/null)"
    if ! grep -qw appliance_out <<<"$sinks"; then
        PULSE_SERVER="$server" pactl load-module module-null-sink sink_name=appliance_out \
            rate=48000 channels=2 sink_properties=device.description=Appliance_output >/dev/null
    fi
    if ! grep -qw appliance_mic <<<"$sinks"; then
        PULSE_SERVER="$server" pactl load-module module-null-sink sink_name=appliance_mic \
            rate=48000 channels=1 sink_properties=device.description=Appliance_microphone \
            >/dev/null
    fi
    if ! grep -qw appliance_drain <<<"$sinks"; then
        PULSE_SERVER="$server" pactl load-module module-null-sink sink_name=appliance_drain \
            rate=48000 channels=1 sink_properties=device.description=Appliance_drain >/dev/null
        local monitor
        for monitor in appliance_out.monitor appliance_mic.monitor; do
            PULSE_SERVER="$server" pactl load-module module-loopback source="$monitor" \
                sink=appliance_drain latency_msec=20 source_dont_move=true sink_dont_move=true \
                >/dev/null
        done
        local sink
        for sink in appliance_out appliance_mic appliance_drain; do
            PULSE_SERVER="$server" pactl suspend-sink "$sink" 1
            PULSE_SERVER="$server" pactl suspend-sink "$sink" 0
        done
    fi
    PULSE_SERVER="$server" pactl set-default-sink appliance_out
    PULSE_SERVER="$server" pactl set-default-source appliance_mic.monitor
    export PULSE_SERVER="$server"
    export APPLIANCE_SOUND_DIR="$dir"
}

appliance_sound_stop() {
    local dir pid
    dir="$(appliance_sound_dir "${1:-}")"
    [[ -f "$dir/pid" ]] || return 0
    pid="$(cat "$dir/pid")"
    if [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; then
        local tries=0
        while kill -0 "$pid" 2>/dev/null && ((tries++ < 100)); do sleep 0.02; done
    fi
    rm -f "$dir/pid" "$dir/native"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
        start)
            appliance_sound_start "${2:-}"
            echo "PULSE_SERVER=$PULSE_SERVER"
            ;;
        stop) appliance_sound_stop "${2:-}" ;;
        *)
            echo "usage: $0 start|stop [DIR]" >&2
            exit 2
            ;;
    esac
fi
