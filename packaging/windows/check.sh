#!/usr/bin/env bash
# make dist-check: proves dist/ on Linux. Sets up a wine prefix under
# build/wine (with the bcryptprimitives.dll stand-in that Go 1.26 programs need
# under wine 8), then runs
#   - go test ./packaging/wincheck: PE headers, imports, resources, signatures,
#     MSI tables, signing with a timestamp from a local RFC 3161 TSA
#     (packaging/windows/sign.sh); under wine: msiexec install, upgrade and uninstall, versions,
#     the service's API read by ctl, the wrapper's SCCM flow;
#   - the Windows test binaries of the pure-Go packages under wine.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GO=${GO:-go}
export WINEPREFIX=$PWD/build/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
export SMSTORRENT_DIST=$(realpath "${OUT:-dist}")
if [ -n "${SMSTORRENT_SIGN_CAFILE:-}" ]; then
  export SMSTORRENT_VERIFY_CA=$SMSTORRENT_SIGN_CAFILE
elif [ -z "${SMSTORRENT_SIGN_PFX:-}${SMSTORRENT_SIGN_CERT:-}" ]; then
  export SMSTORRENT_VERIFY_CA=$PWD/build/sign/cert.pem
fi
mkdir -p build
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  echo "dist-check: creating the wine prefix $WINEPREFIX"
  wineboot -i >/dev/null 2>&1 || true
  wineserver -w
fi
x86_64-w64-mingw32-gcc -shared -O2 -o build/bcryptprimitives.dll packaging/windows/bcryptprimitives.c -ladvapi32
cp build/bcryptprimitives.dll "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"

echo "== dist-check: executables, MSI, wine"
"$GO" test -count=1 -timeout 15m ${DIST_CHECK_VERBOSE:+-v} ./packaging/wincheck

# The pure-Go packages' tests, as Windows programs under wine.
echo "== dist-check: Windows test binaries under wine"
# Every package with tests that builds for Windows without cgo (the rest need
# libutp or Fyne; internal/layers runs the go command).
pkgs=(./internal/version ./internal/pkgid ./internal/pkgsign ./internal/pkgverify ./internal/units
  ./internal/atomicfile ./internal/cmdline ./internal/procmem ./internal/logfile ./internal/repoapi ./internal/secfs
  ./service/api ./service/config ./service/localapi
  ./wrapper ./wrapper/cmtrace ./wrapper/winargs ./app/tray ./app/instance ./icons ./ui/viewmodel ./ui/demo
  ./tracker/addrlimit ./tracker/announce ./tracker/config ./tracker/repo ./tracker/store ./tracker/swarm)
mkdir -p build/wintest
fail=0
for p in "${pkgs[@]}"; do
  exe="build/wintest/$(echo "${p#./}" | tr / -).test.exe"
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" test -c -o "$exe" "$p"
  [ -f "$exe" ] || { echo "ok (no tests) $p"; continue; }
  log="$exe.log"
  # In the package's folder, as go test runs it (testdata/, golden files).
  (cd "$p" && timeout 300 wine "$ROOT/$exe" -test.short -test.v -test.timeout 240s >"$ROOT/$log" 2>&1) || true
  # Wine 8 lacks FileDispositionInformationEx, which Go 1.26's os.RemoveAll
  # uses, so t.TempDir's cleanup fails ("Invalid function") in every test that
  # wrote a file; the awk script reports only failures with other messages.
  if grep -q '^ok\|^PASS' "$log" && ! grep -q '^--- FAIL' "$log"; then
    echo "ok   $p"
  elif grep -qx FAIL "$log" && awk -f packaging/windows/wine-tests.awk "$log" >"$log.real"; then
    echo "ok   $p (only wine's TempDir cleanup failed: $(grep -c 'TempDir RemoveAll cleanup' "$log") tests)"
  else
    echo "FAIL $p ($log):"; cat "$log.real" 2>/dev/null || tail -20 "$log"; fail=1
  fi
done
wineserver -k || true
exit $fail
