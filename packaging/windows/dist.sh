#!/usr/bin/env bash
# make dist: cross-builds the Windows amd64 executables, embeds their
# resources, signs them, builds the MSI with wixl and signs it.
#
#   OUT=dist (default)      where the signed .exe files and smstorrent-<version>-x64.msi go
#   SMSTORRENT_SIGN_PFX     a PKCS#12 code-signing certificate (with SMSTORRENT_SIGN_PASS), or
#   SMSTORRENT_SIGN_CERT/SMSTORRENT_SIGN_KEY  PEM certificate chain and key;
#                           neither: a throwaway self-signed certificate in build/sign
#   SMSTORRENT_SIGN_TIMESTAMP  an RFC 3161 timestamp server URL (optional)
#   SMSTORRENT_SIGN_CAFILE, SMSTORRENT_SIGN_TSA_CAFILE  what verify trusts (see sign.sh)
#
# Every executable is self-contained: cgo parts (libutp, Fyne) link libgcc,
# libstdc++ and winpthread statically, so only system DLLs are imported. The
# tray and the window are GUI-subsystem programs. Resources (icon, VERSIONINFO,
# manifest) are compiled by mingw's windres into a .syso beside each main
# package for the build and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-dist}
WORK=build/dist
GO=${GO:-go}
VERSION=$(packaging/version.sh)
NUMERIC=$(packaging/version.sh --numeric)
MSIVERSION=${NUMERIC%.*}
mkdir -p "$OUT" "$WORK/rc" "$WORK/bin"

# name | package | subsystem | cgo | description
programs=(
  "smstorrent-service|./service/cmd/smstorrent-service|console|1|SMSTorrent service and helpdesk command line"
  "P2PWrapper|./wrapper/cmd/P2PWrapper|console|0|SMSTorrent wrapper for SCCM programs"
  "smstorrent-tracker|./tracker/cmd/smstorrent-tracker|console|0|SMSTorrent tracker and package repository"
  "smstorrent-tray|./app/cmd/smstorrent-tray|gui|0|SMSTorrent tray icon"
  "smstorrent-window|./app/cmd/smstorrent-window|gui|1|SMSTorrent window"
)

sysos=()
cleanup() { rm -f "${sysos[@]}"; }
trap cleanup EXIT

# versioninfo FILENAME DESCRIPTION FILETYPE: the VERSIONINFO resource of one file.
versioninfo() {
  local commas=${NUMERIC//./,}
  cat <<RC
1 VERSIONINFO
FILEVERSION $commas
PRODUCTVERSION $commas
FILEFLAGSMASK VS_FFI_FILEFLAGSMASK
FILEFLAGS 0
FILEOS VOS_NT_WINDOWS32
FILETYPE $3
FILESUBTYPE VFT2_UNKNOWN
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "SMSTorrent"
      VALUE "FileDescription", "$2"
      VALUE "FileVersion", "$VERSION"
      VALUE "InternalName", "${1%.*}"
      VALUE "LegalCopyright", "SMSTorrent contributors"
      VALUE "OriginalFilename", "$1"
      VALUE "ProductName", "SMSTorrent"
      VALUE "ProductVersion", "$VERSION"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
}

# resources NAME PKG DESCRIPTION: writes PKG/rsrc_windows_amd64.syso.
resources() {
  local name=$1 pkg=$2 desc=$3 dir="$WORK/rc/$1"
  mkdir -p "$dir"
  sed -e "s|@NAME@|$name|g" -e "s|@VERSION4@|$NUMERIC|g" -e "s|@DESCRIPTION@|$desc|g" \
    packaging/windows/app.manifest >"$dir/app.manifest"
  {
    printf '#include <winver.h>\n1 ICON "%s"\n1 24 "%s"\n' "$ROOT/icons/ico/app.ico" "$dir/app.manifest"
    versioninfo "$name.exe" "$desc" VFT_APP
  } >"$dir/$name.rc"
  x86_64-w64-mingw32-windres -O coff -i "$dir/$name.rc" -o "$pkg/rsrc_windows_amd64.syso"
  sysos+=("$pkg/rsrc_windows_amd64.syso")
}

ldbase="-s -w -X github.com/smstorrent/smstorrent/internal/version.Version=$VERSION"
for p in "${programs[@]}"; do
  IFS='|' read -r name pkg subsystem cgo desc <<<"$p"
  resources "$name" "$pkg" "$desc"
  ld=$ldbase
  [ "$subsystem" = gui ] && ld="$ld -H=windowsgui"
  env=(GOOS=windows GOARCH=amd64 CGO_ENABLED=0)
  if [ "$cgo" = 1 ]; then
    env=(GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++)
    ld="$ld -linkmode=external -extldflags=-static"
  fi
  echo "dist: go build $name.exe ($VERSION)"
  env "${env[@]}" "$GO" build -ldflags "$ld" -o "$WORK/bin/$name.exe" "$pkg"
done

# The MSI's custom action DLL (packaging/windows/setupca.c): plain C, system DLLs only, with a
# VERSIONINFO; it runs from the MSI's Binary table, never from Program Files.
echo "dist: smstorrent-setupca.dll"
mkdir -p "$WORK/rc/setupca"
{
  echo '#include <winver.h>'
  versioninfo smstorrent-setupca.dll "SMSTorrent installer custom action" VFT_DLL
} >"$WORK/rc/setupca/setupca.rc"
x86_64-w64-mingw32-windres -O coff -i "$WORK/rc/setupca/setupca.rc" -o "$WORK/rc/setupca/setupca.res.o"
x86_64-w64-mingw32-gcc -shared -O2 -Wall -Werror -s -o "$WORK/bin/smstorrent-setupca.dll" \
  packaging/windows/setupca.c "$WORK/rc/setupca/setupca.res.o" -lmsi

# Signing (packaging/windows/sign.sh): the certificate from the environment,
# or a throwaway one; each file is verified, and timestamped when
# SMSTORRENT_SIGN_TIMESTAMP is set.
sign() { packaging/windows/sign.sh "$1" "$2"; }

for p in "${programs[@]}"; do
  name=${p%%|*}
  sign "$WORK/bin/$name.exe" "$OUT/$name.exe"
done
sign "$WORK/bin/smstorrent-setupca.dll" "$OUT/smstorrent-setupca.dll"

msi="smstorrent-$VERSION-x64.msi"
echo "dist: wixl $msi (ProductVersion $MSIVERSION)"
wixl -a x64 -D ServiceStart=yes -D Version="$MSIVERSION" -D BinDir="$(realpath --relative-to=. "$OUT")" -D IconFile=icons/ico/app.ico \
  -o "$WORK/$msi" packaging/windows/smstorrent.wxs
sign "$WORK/$msi" "$OUT/$msi"
ln -sf "$msi" "$OUT/smstorrent.msi"
# Only this build's MSI stays in OUT: an older one left beside it is an old
# version an admin could hand to SCCM by mistake.
for old in "$OUT"/smstorrent-*-x64.msi; do
  [ "$old" = "$OUT/$msi" ] || rm -f "$old"
done
echo "$VERSION" >"$OUT/VERSION"
echo "dist: $OUT/: $(cd "$OUT" && ls *.exe *.dll *.msi | tr '\n' ' ')"
