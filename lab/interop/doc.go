// Package interop runs third-party BitTorrent clients (transmission-daemon,
// qbittorrent-nox) and trackers (opentracker) next to SMSTorrent's own
// service, origin and tracker, for the interop matrix: every case moves a
// package between a standard client and ours and checks the files.
package interop
