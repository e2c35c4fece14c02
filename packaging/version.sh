#!/usr/bin/env bash
# Prints the build version from git, for internal/version and the Windows
# version resources:
#   packaging/version.sh            git describe: v1.2.0-5-gabc1234[-dirty], or 0.0.N-gabc1234[-dirty]
#                                   without a tag (N = number of commits)
#   packaging/version.sh --numeric  four numbers for VERSIONINFO: 1.2.0.5, or 0.0.N.0
# The MSI's ProductVersion is the first three numbers: every commit without a
# tag, and every tag, is a higher version, so each build upgrades the previous.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  [ "${1:-}" = --numeric ] && echo 0.0.0.0 || echo dev
  exit 0
fi
count=$(git rev-list --count HEAD)
desc=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || true)
if [[ "$desc" =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)(-([0-9]+)-g[0-9a-f]+)?(-dirty)?$ ]]; then
  num="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}.${BASH_REMATCH[5]:-0}"
  str="$desc"
else
  num="0.0.$count.0"
  str="0.0.$count-g$(git describe --always --dirty)"
fi
if [ "${1:-}" = --numeric ]; then echo "$num"; else echo "$str"; fi
