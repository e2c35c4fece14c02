#!/usr/bin/env bash
# Takes the screenshots of the window's four tabs and of the tray against a
# real service: TestScreenshotSession (app/integration) runs a tracker with
# its repository, an origin, a colleague's PC holding "Office 2024" and this
# PC, which downloads it from both (limited to 2 MiB/s, so the download is
# in progress while the pictures are taken). The window and the tray follow
# this PC's data folder, as they would on a branch PC.
# Writes docs/screenshots/{downloads,seeding,bandwidth,diagnostics}.png,
# tray-menu-control.png and tray-window-control.png. (XEmbed trays show no
# tooltips; the menu's first entry carries the tooltip's gist.)
# Usage: app/scripts/real-service-screenshots.sh [display]   (from the
# repository root after `make build`; needs xvfb, trayer, xdotool,
# imagemagick, dbus-x11).
set -euo pipefail
disp=${1:-:59}
out=docs/screenshots
mkdir -p "$out"
rt=$(mktemp -d); chmod 700 "$rt"
session=$rt/session; mkdir "$session"
export XDG_RUNTIME_DIR=$rt DISPLAY=$disp

SMSTORRENT_SCREENSHOT_SESSION=$session go test ./app/integration -run '^TestScreenshotSession$' -count=1 -timeout 20m -v \
	>"$rt/session.log" 2>&1 & services=$!
cleanup() {
	touch "$session/done"
	if wait "$services" 2>/dev/null; then
		grep -E "data folder|PASS|ok " "$rt/session.log" || true
	else
		echo "the service session failed:" >&2; tail -20 "$rt/session.log" >&2
	fi
	kill "${xvfb:-}" 2>/dev/null || true
	rm -rf "$rt"
}
trap cleanup EXIT
for _ in $(seq 600); do [ -s "$session/data-dir" ] && break; kill -0 $services 2>/dev/null || break; sleep 1; done
[ -s "$session/data-dir" ] || { echo "the services did not come up" >&2; exit 1; }
data=$(cat "$session/data-dir")
echo "this PC's data folder: $data"

Xvfb "$disp" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
sleep 1

shoot() { # page file [seconds to wait]
	FYNE_THEME=light dbus-run-session -- sh -c 'echo $$ > "$0/window.pid"; exec ./bin/smstorrent-window --page "$1" --data-dir "$2"' \
		"$rt" "$1" "$data" >/dev/null 2>&1 &
	local s=$! wid=""
	for _ in $(seq 100); do
		wid=$(xdotool search --name '^SMSTorrent$' 2>/dev/null | head -1) && [ -n "$wid" ] && break
		sleep 0.1
	done
	[ -n "$wid" ] || { echo "no window for $2" >&2; exit 1; }
	sleep "${3:-4}" # live seconds of the event stream (the chart starts with the window)
	/usr/bin/import -window "$wid" "$out/$2"
	local pid; pid=$(cat "$rt/window.pid")
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done # it holds the single-instance lock
	wait "$s" 2>/dev/null || true
}
sleep 5
shoot downloads downloads.png
shoot seeding seeding.png
shoot diagnostics diagnostics.png

# The tray in an XEmbed tray (trayer), its menu with the throttle submenu,
# and the window opened from it.
export RT=$rt OUT=$out DATA=$data
dbus-run-session -- bash -c '
set -e
trayer --edge top --align right --widthtype request --height 32 --tint 0xdddddd --transparent true --alpha 0 --SetDockType true >/dev/null 2>&1 & trayer=$!
sleep 1
./bin/smstorrent-tray --data-dir "$DATA" --window ./bin/smstorrent-window >"$RT/tray.log" 2>&1 & tray=$!
sleep 5
# The helpdesk picks "1 MiB/s for 2 hours" in the menu; the menu then shows
# it checked (and the Bandwidth tab below shows it in force).
xdotool mousemove 1263 16 click 1; sleep 1.5
xdotool mousemove 1150 148; sleep 1.5        # hover "Throttle"
xdotool mousemove 1060 148; sleep 0.3; xdotool mousemove 1000 198; sleep 0.5; xdotool click 1; sleep 2
xdotool mousemove 1263 16 click 1; sleep 1.5
xdotool mousemove 1150 148; sleep 1.5
/usr/bin/import -window root "$RT/menu.png"
/usr/bin/convert "$RT/menu.png" -crop 820x260+460+0 +repage "$OUT/tray-menu-control.png"
xdotool key Escape; sleep 0.3; xdotool key Escape; sleep 0.5
xdotool mousemove 1263 16 click 1; sleep 1.5
xdotool mousemove 1150 72 click 1             # "Open SMSTorrent"
for _ in $(seq 100); do xdotool search --name "^SMSTorrent\$" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 5
/usr/bin/import -window root "$OUT/tray-window-control.png"
win=$(pgrep -P $tray -f smstorrent-window | head -1 || true)
[ -n "$win" ] && kill $win; sleep 0.5; kill $tray $trayer
'
shoot bandwidth bandwidth.png 30
ls -la "$out"
