#!/usr/bin/env bash
# make deb: builds the Linux executables (make build) and packages them with
# nfpm (packaging/linux/nfpm, its own module) into dist/smstorrent_<version>_<arch>.deb.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-dist}
GO=${GO:-go}
make --no-print-directory build
mkdir -p "$OUT"
VERSION=$(packaging/version.sh)
ARCH=$("$GO" env GOARCH)
export VERSION ARCH
deb="$OUT/smstorrent_${VERSION}_${ARCH}.deb"
rm -f "$deb"
mkdir -p build
"$GO" -C packaging/linux/nfpm build -o "$PWD/build/nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm
build/nfpm package --config "$PWD/packaging/linux/nfpm.yaml" --packager deb --target "$PWD/$deb" >/dev/null
ln -sf "$(basename "$deb")" "$OUT/smstorrent.deb"
echo "deb: $deb"
