// Package unitstest is the one table of unit forms that every program's
// tests check against: units itself, the service's configuration, ctl and the
// desktop view models each run the table through their own parsing and
// printing, so all of them read and write sizes and rates the same way.
// Only tests import it.
package unitstest

// RateCase is one typed rate and what it means.
type RateCase struct {
	In  string
	BPS int64 // bytes per second; 0: unlimited
	// Err is a part of the refusal message ("" when In is accepted).
	Err string
}

// Rates are typed rates: both spellings with their true meaning, and the
// ambiguous forms refused with the right form in the message.
var Rates = []RateCase{
	{In: "2MiB/s", BPS: 2 << 20},
	{In: "2 MiB/s", BPS: 2 << 20},
	{In: "512KiB/s", BPS: 512 << 10},
	{In: "1.5MiB", BPS: 3 << 19},
	{In: "2MB/s", BPS: 2_000_000},
	{In: "2 MB/s", BPS: 2_000_000},
	{In: "500kB/s", BPS: 500_000},
	{In: "500KB/s", BPS: 500_000},
	{In: "1GB/s", BPS: 1_000_000_000},
	{In: "20Mbit/s", BPS: 2_500_000},
	{In: "20mbit/s", BPS: 2_500_000},
	{In: "20Mbps", BPS: 2_500_000},
	{In: "800kbit", BPS: 100_000},
	{In: "100B/s", BPS: 100},
	{In: "0", BPS: 0},
	{In: "unlimited", BPS: 0},
	{In: "none", BPS: 0},
	{In: "off", BPS: 0},
	{In: "2", Err: "give a unit, like 2MiB/s"},
	{In: "1000", Err: "give a unit"},
	{In: "MB/s", Err: "needs a number"},
	{In: "KiB", Err: "needs a number"},
	{In: "2mb/s", Err: "write 2MB/s"},
	{In: "2Mb/s", Err: "bytes or bits"},
	{In: "2M", Err: "prefix without a unit"},
	{In: "2 apples", Err: "unknown unit"},
	{In: "-2MB/s", Err: "negative"},
	{In: "banana", Err: "not a number"},
	{In: "", Err: "empty rate"},
}

// SizeCase is one typed size.
type SizeCase struct {
	In    string
	Bytes int64
	Err   string
}

// Sizes are typed sizes (cache_max).
var Sizes = []SizeCase{
	{In: "50GiB", Bytes: 50 << 30},
	{In: "50GB", Bytes: 50_000_000_000},
	{In: "1.5 GiB", Bytes: 3 << 29},
	{In: "0", Bytes: 0},
	{In: "512", Err: "give a unit"},
	{In: "GiB", Err: "needs a number"},
	{In: "5gb", Err: "bytes or bits"},
	{In: "5Gbit", Err: "bits are for rates"},
}

// FormatCase is one number of bytes and how every program prints it.
type FormatCase struct {
	N     int64
	Bytes string // as a size
	Rate  string // as bytes per second
	Limit string // as a limit (0: unlimited)
}

// Formats are the printed forms: IEC, one decimal below 100.
var Formats = []FormatCase{
	{0, "0 B", "0 B/s", "unlimited"},
	{1023, "1023 B", "1023 B/s", "1023 B/s"},
	{1024, "1 KiB", "1 KiB/s", "1 KiB/s"},
	{1536, "1.5 KiB", "1.5 KiB/s", "1.5 KiB/s"},
	{2_000_000, "1.9 MiB", "1.9 MiB/s", "1.9 MiB/s"},
	{1 << 20, "1 MiB", "1 MiB/s", "1 MiB/s"},
	{200 << 20, "200 MiB", "200 MiB/s", "200 MiB/s"},
	{3480 << 20, "3.4 GiB", "3.4 GiB/s", "3.4 GiB/s"},
	{5 << 40, "5 TiB", "5 TiB/s", "5 TiB/s"},
}
