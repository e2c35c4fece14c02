package version

import "testing"

func TestRequested(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--version"}, true},
		{[]string{"version"}, true},
		{nil, false},
		{[]string{"--version", "x"}, false},
		{[]string{"run"}, false},
	} {
		if got := Requested(tc.args); got != tc.want {
			t.Errorf("Requested(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
	if got := String("P2PWrapper"); got != "P2PWrapper "+Version {
		t.Errorf("String = %q", got)
	}
}
