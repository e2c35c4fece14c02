#!/usr/bin/env bash
# Takes the demo window screenshots in docs/screenshots under Xvfb, with the
# window's in-memory demo service (--demo-fake): the Downloads tab in the dark
# theme and as a read-only user, and the window with no service running.
# The four tabs against a real service: real-service-screenshots.sh.
# Usage: app/scripts/screenshots.sh [display]   (run from the repository root
# after `make build`; needs xvfb, xdotool, imagemagick, dbus-x11).
set -euo pipefail
disp=${1:-:57}
out=docs/screenshots
mkdir -p "$out"
rt=$(mktemp -d); chmod 700 "$rt"
export XDG_RUNTIME_DIR=$rt DISPLAY=$disp
Xvfb "$disp" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
trap 'kill $xvfb 2>/dev/null; rm -rf "$rt"' EXIT
sleep 1

shoot() { # theme access page file; access "offline" runs without a service
	if [ "$2" = offline ]; then
		src=(--data-dir "$rt/no-service")
	else
		src=(--demo-fake --demo-access "$2")
	fi
	FYNE_THEME=$1 dbus-run-session -- sh -c 'echo $$ > "$0/window.pid"; p=$1; shift; exec ./bin/smstorrent-window --page "$p" "$@"' \
		"$rt" "$3" "${src[@]}" >/dev/null 2>&1 &
	local session=$!
	local wid=""
	for _ in $(seq 100); do
		wid=$(xdotool search --name '^SMSTorrent$' 2>/dev/null | head -1) && [ -n "$wid" ] && break
		sleep 0.1
	done
	[ -n "$wid" ] || { echo "no window for $4" >&2; exit 1; }
	sleep 3 # let the demo stream a few live seconds
	/usr/bin/import -window "$wid" "$out/$4"
	local pid
	pid=$(cat "$rt/window.pid")
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done # it holds the single-instance lock
	wait "$session" 2>/dev/null || true
}
shoot light read downloads downloads-readonly.png
shoot dark control downloads downloads-dark.png
shoot light offline downloads service-not-running.png
ls -la "$out"
