#!/usr/bin/env bash
# Runs the tray in a virtual X session with an XEmbed tray (trayer), opens
# its menu and the throttle submenu, clicks "Open SMSTorrent", and measures
# both processes' memory (VmRSS after the window has run for a while).
# Writes docs/screenshots/tray-menu-ACCESS.png, tray-window-ACCESS.png and
# prints the RSS. (The control pictures in the docs are the real service's:
# real-service-screenshots.sh; run this one with "read".)
# Usage: app/scripts/tray-session.sh [display] [access]   (after make build;
# needs xvfb, trayer, xdotool, imagemagick, dbus-x11). Uses the demo service.
set -euo pipefail
disp=${1:-:58}
access=${2:-control}
out=docs/screenshots
rt=$(mktemp -d); chmod 700 "$rt"
export XDG_RUNTIME_DIR=$rt DISPLAY=$disp
Xvfb "$disp" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & xvfb=$!
trap 'kill $xvfb 2>/dev/null; rm -rf "$rt"' EXIT
sleep 1
export RT=$rt ACCESS=$access OUT=$out
dbus-run-session -- bash -c '
set -e
trayer --edge top --align right --widthtype request --height 32 --tint 0xdddddd --transparent true --alpha 0 --SetDockType true >/dev/null 2>&1 & trayer=$!
sleep 1
./bin/smstorrent-tray --demo-fake --demo-access "$ACCESS" --window ./bin/smstorrent-window >"$RT/tray.log" 2>&1 & tray=$!
sleep 5
# The icon sits at the right end of the 32-px panel.
xdotool mousemove 1263 16 click 1; sleep 1.5
xdotool mousemove 1150 148; sleep 1.5        # hover "Throttle" (control access)
/usr/bin/import -window root "$RT/menu.png"
/usr/bin/convert "$RT/menu.png" -crop 820x260+460+0 +repage "$OUT/tray-menu-$ACCESS.png"
xdotool key Escape; sleep 0.3; xdotool key Escape; sleep 0.5
xdotool mousemove 1263 16 click 1; sleep 1.5
xdotool mousemove 1150 72 click 1             # "Open SMSTorrent"
for _ in $(seq 100); do xdotool search --name "^SMSTorrent\$" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 15
win=$(pgrep -P $tray -f smstorrent-window | head -1)
for p in $tray $win; do echo "== $(tr "\0" " " < /proc/$p/cmdline | cut -c1-60)"; grep -E "^(Rss|Pss|Pss_Anon|Pss_File|Private_Clean|Private_Dirty|Shared_Clean|Anonymous):" /proc/$p/smaps_rollup | tr -s " " | tr "\n" ";"; echo; done
/usr/bin/import -window root "$OUT/tray-window-$ACCESS.png"
kill $win; sleep 0.5; kill $tray $trayer
'
