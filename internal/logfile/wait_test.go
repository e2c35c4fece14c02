package logfile

import "time"

// waitABit is the polling interval of tests that wait on the library's
// background work; it is not synchronisation.
func waitABit() { time.Sleep(20 * time.Millisecond) }
