package svc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// netsh runs %SystemRoot%\System32\netsh.exe (by full path: the step runs as
// SYSTEM and must not find a netsh.exe through PATH).
func netsh(args ...string) (string, error) {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	cmd := exec.Command(filepath.Join(root, "System32", "netsh.exe"), args...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// addFirewallRules replaces the inbound rules: allow the service program
// (and nothing else) to accept peers on port, TCP and UDP, in every profile.
// Port 0 (a random port) allows the program on any port.
func addFirewallRules(program string, port int) error {
	if err := removeFirewallRules(); err != nil {
		return err
	}
	for i, args := range firewallAddArgs(program, port) {
		if out, err := netsh(args...); err != nil {
			return fmt.Errorf("adding firewall rule %q: %v: %s", firewallRules[i].name, err, out)
		}
	}
	return nil
}

// removeFirewallRules deletes the rules; a rule that is not there is fine.
func removeFirewallRules() error {
	for _, r := range firewallRules {
		if _, err := netsh("advfirewall", "firewall", "show", "rule", "name="+r.name); err != nil {
			continue // "No rules match the specified criteria."
		}
		if out, err := netsh("advfirewall", "firewall", "delete", "rule", "name="+r.name); err != nil {
			return fmt.Errorf("removing firewall rule %q: %v: %s", r.name, err, out)
		}
	}
	return nil
}
