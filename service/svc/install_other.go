//go:build !windows

package svc

import "github.com/smstorrent/smstorrent/service/config"

// platformSetup has nothing to add outside Windows: the systemd unit carries
// its restart policy, and Linux distributions manage their firewalls.
func platformSetup(config.Config, string, bool) error { return nil }

// platformTeardown likewise.
func platformTeardown() error { return nil }

// platformForget likewise.
func platformForget() error { return nil }
