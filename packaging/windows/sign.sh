#!/usr/bin/env bash
# sign.sh IN OUT: signs one Windows executable, DLL or MSI with osslsigncode
# (SHA-256 Authenticode) and verifies the result; dist.sh runs it for every
# file it ships, and packaging/wincheck's timestamp test runs it against a
# local RFC 3161 timestamp authority.
#
#   SMSTORRENT_SIGN_PFX         a PKCS#12 code-signing certificate (with SMSTORRENT_SIGN_PASS), or
#   SMSTORRENT_SIGN_CERT/SMSTORRENT_SIGN_KEY  PEM certificate chain and key (SMSTORRENT_SIGN_PASS
#                               if the key is encrypted); neither: a throwaway self-signed
#                               certificate in build/sign, made once
#   SMSTORRENT_SIGN_CAFILE      CA certificates that verify trusts for the signer (default: the
#                               system's; the throwaway certificate itself when it signed)
#   SMSTORRENT_SIGN_TIMESTAMP   an RFC 3161 timestamp server URL (optional); the signature must
#                               then carry a timestamp that verifies
#   SMSTORRENT_SIGN_TSA_CAFILE  CA certificates that verify trusts for the timestamp (default:
#                               the system's)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: sign.sh IN OUT" >&2; exit 2; }
in=$1 out=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

sign_args=()
verify_args=()
if [ -n "${SMSTORRENT_SIGN_PFX:-}" ]; then
  sign_args=(-pkcs12 "$SMSTORRENT_SIGN_PFX")
elif [ -n "${SMSTORRENT_SIGN_CERT:-}" ]; then
  sign_args=(-certs "$SMSTORRENT_SIGN_CERT" -key "${SMSTORRENT_SIGN_KEY:?SMSTORRENT_SIGN_KEY is not set}")
else
  dir=$ROOT/build/sign
  mkdir -p "$dir"
  if [ ! -s "$dir/cert.pem" ]; then
    echo "sign: no SMSTORRENT_SIGN_PFX or SMSTORRENT_SIGN_CERT: signing with a throwaway self-signed certificate"
    openssl req -x509 -newkey rsa:3072 -sha256 -days 30 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" \
      -subj "/CN=SMSTorrent throwaway test signing/O=SMSTorrent" \
      -addext "extendedKeyUsage=codeSigning" -addext "keyUsage=digitalSignature" 2>/dev/null
  fi
  sign_args=(-certs "$dir/cert.pem" -key "$dir/key.pem")
  verify_args=(-CAfile "$dir/cert.pem")
fi
[ -n "${SMSTORRENT_SIGN_CAFILE:-}" ] && verify_args=(-CAfile "$SMSTORRENT_SIGN_CAFILE")
if [ -n "${SMSTORRENT_SIGN_TIMESTAMP:-}" ]; then
  sign_args+=(-ts "$SMSTORRENT_SIGN_TIMESTAMP")
  [ -n "${SMSTORRENT_SIGN_TSA_CAFILE:-}" ] && verify_args+=(-TSA-CAfile "$SMSTORRENT_SIGN_TSA_CAFILE")
fi

# The password goes to osslsigncode on its standard input (printf is a
# builtin): on its command line any local user could read it in the
# process list.
if [ -n "${SMSTORRENT_SIGN_PASS:-}" ] && [ -n "${SMSTORRENT_SIGN_PFX:-}${SMSTORRENT_SIGN_CERT:-}" ]; then
  sign_args+=(-readpass -)
fi
rm -f "$out"
printf '%s' "${SMSTORRENT_SIGN_PASS:-}" |
  osslsigncode sign "${sign_args[@]}" -h sha256 -n "SMSTorrent" -i "https://github.com/smstorrent/smstorrent" \
    -in "$in" -out "$out" >/dev/null
# A file whose signature does not verify is not left where dist.sh ships from.
log=$out.verify
fail() { cat "$log"; rm -f "$log" "$out"; echo "sign: $1: $in" >&2; exit 1; }
osslsigncode verify "${verify_args[@]}" -in "$out" >"$log" 2>&1 || fail "verify failed"
if [ -n "${SMSTORRENT_SIGN_TIMESTAMP:-}" ] && ! grep -q '^Timestamp Server Signature verification: ok' "$log"; then
  fail "no verified timestamp"
fi
rm -f "$log"
