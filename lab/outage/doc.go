// Package outage measures, in the network lab, how soon a transfer across
// a branch's WAN link moves again after the link was down: the peer
// transports (uTP through internal/goutp, and TCP) between hq and a
// branch PC, with the link cut for 10 s mid-transfer (docs/LAB.md,
// "Outages").
package outage
