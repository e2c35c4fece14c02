#!/usr/bin/env bash
# make deb-check: inspects dist/smstorrent.deb with dpkg-deb, unpacks it into a
# throwaway root, runs the service program from it and verifies the systemd
# unit with systemd-analyze.
set -euo pipefail
cd "$(dirname "$0")/../.."
deb=${OUT:-dist}/smstorrent.deb
info=$(dpkg-deb --info "$deb")
for f in "Package: smstorrent" "Architecture: amd64" "Depends: libc6" postinst prerm postrm; do
  grep -q "$f" <<<"$info" || { echo "deb-check: control lacks $f"; exit 1; }
done
contents=$(dpkg-deb --contents "$deb")
for f in ./usr/bin/smstorrent-service ./usr/bin/P2PWrapper ./usr/bin/smstorrent-tray ./usr/bin/smstorrent-window \
  ./usr/bin/smstorrent-tracker ./lib/systemd/system/smstorrent.service ./etc/xdg/autostart/smstorrent-tray.desktop \
  ./usr/share/applications/smstorrent-window.desktop ./usr/share/icons/hicolor/256x256/apps/smstorrent.png; do
  grep -q " $f\$" <<<"$contents" || { echo "deb-check: $deb lacks $f"; exit 1; }
done
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/smstorrent-service" version >/dev/null
# Verified as installed, except that ExecStart points into the throwaway root
# (systemd-analyze checks that the program exists).
mkdir -p "$root/verify"
sed "s|/usr/bin/smstorrent-service|$root/usr/bin/smstorrent-service|" "$root/lib/systemd/system/smstorrent.service" \
  >"$root/verify/smstorrent.service"
out=$(systemd-analyze verify "$root/verify/smstorrent.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then echo "$out"; echo "deb-check: systemd-analyze verify complained"; exit 1; fi
for d in "$root/etc/xdg/autostart/smstorrent-tray.desktop" "$root/usr/share/applications/smstorrent-window.desktop"; do
  grep -q '^Type=Application$' "$d" && grep -q '^Exec=/usr/bin/' "$d" || { echo "deb-check: $d is not a launcher"; exit 1; }
  if command -v desktop-file-validate >/dev/null; then desktop-file-validate "$d"; fi
done
echo "deb-check: $(basename "$(readlink -f "$deb")") ok ($(grep -c . <<<"$contents") entries, unit verified)"
