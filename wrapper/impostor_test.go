package wrapper

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/smstorrent/smstorrent/service/api"
)

// The escalation of issue 12 item 1: the service crashed (or was killed),
// leaving api/address behind; a normal local user binds that port with a
// program of their own and waits for the wrapper, which runs as root.
// The impostor is a real second process (this test binary started with
// -impostor), running as nobody when the test runs as root.

// runImpostor is the impostor's main: it serves a fake local API on the
// address in <dataDir>/api/address, writes every token it receives to
// <loot>/stolen, and says every package is complete in <loot>/pkg.
func runImpostor(dataDir, loot string) {
	b, err := os.ReadFile(filepath.Join(dataDir, api.AddressFile))
	if err != nil {
		os.Exit(3)
	}
	addr := strings.Fields(string(b))[0]
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		os.Exit(4)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get(api.HeaderToken); tok != "" {
			f, err := os.OpenFile(filepath.Join(loot, "stolen"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
			if err == nil {
				_, _ = f.WriteString(tok + "\n")
				_ = f.Close()
			}
		}
		w.Header().Set(api.HeaderAPIVersion, api.APIVersion)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == api.PathStatus:
			_ = json.NewEncoder(w).Encode(api.Status{Access: api.AccessControl, LogDir: loot})
		case strings.HasPrefix(r.URL.Path, "/api/v1/jobs/"):
			id := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/jobs/"), "/")[0]
			_ = json.NewEncoder(w).Encode(api.Job{ID: id, State: api.StateTransferred, Path: filepath.Join(loot, "pkg")})
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no","code":"not_found"}`))
		}
	})
	os.Stdout.WriteString("ready\n")
	_ = http.Serve(ln, h)
}
