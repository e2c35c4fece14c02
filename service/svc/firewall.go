package svc

import "strconv"

// firewallRules are the names of the inbound rules for the peer port, one
// per protocol (TCP for BitTorrent over TCP, UDP for uTP).
var firewallRules = []struct{ name, proto string }{
	{"SMSTorrent peers (TCP)", "TCP"},
	{"SMSTorrent peers (UDP)", "UDP"},
}

// firewallAddArgs are the netsh arguments that add the rules: inbound, allow,
// only for program (the service), TCP and UDP on port (any port if 0), every
// profile.
func firewallAddArgs(program string, port int) [][]string {
	var all [][]string
	for _, r := range firewallRules {
		args := []string{"advfirewall", "firewall", "add", "rule", "name=" + r.name, "dir=in", "action=allow",
			"program=" + program, "protocol=" + r.proto, "profile=any", "enable=yes",
			"description=SMSTorrent: peers of the site fetch package pieces from this PC"}
		if port != 0 {
			args = append(args, "localport="+strconv.Itoa(port))
		}
		all = append(all, args)
	}
	return all
}
