// Package wincheck proves the Windows build on Linux: it inspects the
// executables and the MSI that "make dist" wrote (PE headers, import table,
// resources, signatures, MSI tables) and runs them under wine (msiexec
// install and uninstall, versions, the service with its API, ctl, and the
// wrapper's SCCM flow against a real tracker and origin).
//
// The tests skip unless SMSTORRENT_DIST names the dist folder; "make
// dist-check" sets it, with WINEPREFIX under build/. TestSignTimestamp
// needs no dist folder: it signs a small PE and MSI with packaging/windows/sign.sh
// against a local RFC 3161 timestamp authority (openssl ts behind an
// httptest server on 127.0.0.1) and skips only without openssl or
// osslsigncode.
package wincheck
