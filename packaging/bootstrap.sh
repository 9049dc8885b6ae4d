#!/usr/bin/env bash
# Set up everything Vision Studio needs, then run the app or the tests.
#
#   packaging/bootstrap.sh run  [PATH...]     set up, then launch the app
#   packaging/bootstrap.sh test [PYTEST ARGS]  set up (with test tools), then run the tests
#   packaging/bootstrap.sh setup               set up only
#
# "Everything": the Debian/Ubuntu system libraries Qt's xcb plugin needs (and
# Xvfb for the tests), a virtual environment in .venv (VISION_STUDIO_VENV to
# change it), and every Python dependency. dlib is never compiled: the prebuilt
# dlib-bin wheel is installed under the name "dlib" through packaging/dlib-shim.
# Re-running is cheap: pip runs again only when pyproject.toml or this script changed.
set -euo pipefail

mode="${1:-run}"
[ $# -gt 0 ] && shift
case "$mode" in run|test|setup) ;; *)
    echo "usage: $0 run|test|setup [ARGS...]" >&2; exit 2 ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(realpath -m "${VISION_STUDIO_VENV:-$repo/.venv}")"
python="${PYTHON:-python3}"
say() { printf '\033[1m[vision-studio]\033[0m %s\n' "$*" >&2; }

# ---------------------------------------------------------------- system packages
# Qt 6's xcb platform plugin loads these at start-up; without them the app
# aborts with "could not load the Qt platform plugin xcb". Alternatives are
# separated by '|' (Debian 13 / Ubuntu 24.04 renamed some with a t64 suffix).
qt_libs=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
         libxcb-randr0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0
         libxkbcommon0 libegl1 libgl1 libfontconfig1 'libdbus-1-3' 'libglib2.0-0t64|libglib2.0-0')
sys_pkgs=("${qt_libs[@]}" 'python3-venv' )
[ "$mode" = test ] && sys_pkgs+=(xvfb xauth)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

need_system_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 1
    missing=()
    for alts in "${sys_pkgs[@]}"; do
        local ok=0
        IFS='|' read -ra names <<<"$alts"
        for n in "${names[@]}"; do installed "$n" && ok=1 && break; done
        # python3-venv only matters when this Python has no working venv/ensurepip.
        if [ "$alts" = python3-venv ] && "$python" -c "import ensurepip, venv" 2>/dev/null; then ok=1; fi
        [ $ok = 1 ] || missing+=("$alts")
    done
    [ ${#missing[@]} -gt 0 ]
}

resolve_names() {  # pick, for each missing group, the first name apt knows
    resolved=()
    for alts in "${missing[@]}"; do
        IFS='|' read -ra names <<<"$alts"
        local pick="${names[-1]}"
        for n in "${names[@]}"; do
            if apt-cache show "$n" >/dev/null 2>&1; then pick="$n"; break; fi
        done
        resolved+=("$pick")
    done
}

if need_system_packages; then
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" = none ]; then
        resolve_names
        say "missing system packages. Install them, then run this again:"
        echo "    sudo apt-get install -y ${resolved[*]}" >&2
        exit 1
    fi
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    resolve_names
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${resolved[@]}" >/dev/null
elif ! command -v dpkg-query >/dev/null 2>&1; then
    say "not a Debian/Ubuntu system: make sure Qt's xcb libraries (xcb-cursor, xkbcommon-x11) are installed"
fi

# ---------------------------------------------------------------- Python environment
if [ ! -x "$venv/bin/python" ]; then
    say "creating the virtual environment in $venv"
    "$python" -m venv "$venv"
fi
vpy="$venv/bin/python"
extras="all"
[ "$mode" = test ] && extras="all,test"
stamp="$venv/.vision-studio-installed"
hash="$(cat "$repo/pyproject.toml" "$repo/packaging/bootstrap.sh" "$repo/packaging/dlib-shim/pyproject.toml" | sha256sum | cut -c1-16)"
# An install with the test tools also serves "run": switching between the two
# commands must not reinstall anything.
up_to_date() {
    [ -f "$stamp" ] || return 1
    grep -qxF -- "$hash all,test" "$stamp" && return 0
    [ "$extras" = all ] && grep -qxF -- "$hash all" "$stamp"
}
if ! up_to_date; then
    say "installing Python packages (first time: a few minutes; torch is large)"
    # The shim goes in the same command, so pip uses it for face_recognition's
    # "dlib" requirement instead of building dlib from source.
    "$vpy" -m pip install --disable-pip-version-check -q \
        "$repo/packaging/dlib-shim" -e "$repo[$extras]" 2> >(grep -v "is ignored: it is neither" >&2)
    printf '%s %s\n' "$hash" "$extras" >"$stamp"
fi

case "$mode" in
    setup) say "ready: $venv/bin/vision-studio" ;;
    run)   exec "$venv/bin/vision-studio" "$@" ;;  # from the caller's folder: relative PATHs work
    test)
        cd "$repo"
        say "checking import rules (lint-imports)"
        "$venv/bin/lint-imports" --no-cache
        say "running the tests"
        exec "$vpy" -m pytest "$@" ;;
esac
