package wincheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smstorrent/smstorrent/internal/testbed"
	"github.com/smstorrent/smstorrent/service/api"
	"github.com/smstorrent/smstorrent/service/config"
)

const (
	programDir = `C:\Program Files\SMSTorrent`
	dataDir    = `C:\ProgramData\SMSTorrent`
)

// wineMSI builds the MSI for wine from the dist executables: the same source
// with ServiceStart=no (wine 8 cannot start Windows services), unsigned.
func wineMSI(t *testing.T, dist, version string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := filepath.Rel(root, dist)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "smstorrent-"+version+".msi")
	cmd := exec.Command("wixl", "-a", "x64", "-D", "ServiceStart=no", "-D", "Version="+version, "-D", "BinDir="+bin,
		"-D", "IconFile=icons/ico/app.ico", "-o", out, "packaging/windows/smstorrent.wxs")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wixl: %v\n%s", err, b)
	}
	return out
}

// nextVersion is v with its third number one higher (a major upgrade).
func nextVersion(v string) string {
	parts := strings.Split(v, ".")
	n, _ := strconv.Atoi(parts[2])
	parts[2] = strconv.Itoa(n + 1)
	return strings.Join(parts, ".")
}

// msiexec runs msiexec with a verbose log and returns the full exit code and the log.
func (p *prefix) msiexec(args ...string) (int, string, string) {
	p.t.Helper()
	logPath := p.c(`C:\smstorrent-check\msiexec.log`)
	os.Remove(logPath)
	line := "msiexec " + strings.Join(args, " ") + ` /qn /l*v C:\smstorrent-check\msiexec.log`
	out, code := p.exitCodeOf(3*time.Minute, "", line)
	b, _ := os.ReadFile(logPath)
	return code, out, string(b)
}

func TestWineInstallRunUninstall(t *testing.T) {
	dist := distDir(t)
	p := winePrefix(t)
	version := distVersion(t, dist)
	v1 := msiVersion(version)
	msi1, msi2 := wineMSI(t, dist, v1), wineMSI(t, dist, nextVersion(v1))
	key := testbed.NewKey(t)

	// A clean start: no product, no data from an earlier run.
	p.uninstallAll()
	os.RemoveAll(p.c(dataDir))
	p.run(time.Minute, "", "reg", "delete", `HKLM\Software\SMSTorrent`, "/f")

	cfgPath := p.c(dataDir + `\config.json`)
	marker := p.c(dataDir + `\cache\PS999999\kept.txt`)
	jobsPath := p.c(dataDir + `\state\jobs.json`)
	const jobsState = `{"version": 1, "jobs": [{"id": "PS999999", "assigned": true}]}`
	var tray <-chan struct{} // closed when the tray started by the test has exited
	ok := t.Run("refused properties fail the install", func(t *testing.T) {
		// The launch condition refuses it. (Windows logs the condition's
		// message; wine 8's msiexec logs only that LaunchConditions failed.)
		code, _, log := p.msiexec("/i", z(msi1), "REPOSITORY_URL=http://127.0.0.2:7390")
		if code == 0 {
			t.Fatalf("install without TRUSTED_KEY succeeded")
		}
		mustContain(t, "the MSI log", log, "LaunchConditions")
		// A refused value fails the install, and the setup step's message,
		// naming the property, is in the MSI log (smstorrent-setupca.dll).
		for _, c := range []struct{ prop, value, want string }{
			{"LIMIT_DOWN", "fast", `SMSTorrent setup failed: LIMIT_DOWN="fast"`},
			{"REPOSITORY_URL", "tracker.example", `SMSTorrent setup failed: REPOSITORY_URL`},
		} {
			props := map[string]string{"REPOSITORY_URL": "http://127.0.0.2:7390", "TRUSTED_KEY": key.Pub, c.prop: c.value}
			args := []string{"/i", z(msi1)}
			for _, k := range []string{"REPOSITORY_URL", "TRUSTED_KEY", "LIMIT_DOWN"} {
				if v, ok := props[k]; ok {
					args = append(args, k+"="+v)
				}
			}
			code, _, log = p.msiexec(args...)
			if code == 0 {
				t.Fatalf("install with %s=%s succeeded", c.prop, c.value)
			}
			line := logLine(log, c.want)
			if line == "" || !strings.Contains(line, c.value) {
				t.Fatalf("the MSI log lacks %q:\n%s", c.want, tail(log, 30))
			}
			t.Logf("%s=%s: exit code %d; the MSI log says: %s", c.prop, c.value, code, line)
		}
		b, _ := os.ReadFile(p.c(dataDir + `\logs\setup.log`))
		mustContain(t, "setup.log", string(b), `setup failed: LIMIT_DOWN="fast"`)
		if exists(p.c(programDir + `\smstorrent-service.exe`)) {
			t.Errorf("a failed install left the program files")
		}
		if exists(cfgPath) {
			t.Errorf("a failed install wrote a configuration")
		}
	})
	ok = ok && t.Run("install with every property", func(t *testing.T) {
		code, out, log := p.msiexec("/i", z(msi1), "REPOSITORY_URL=http://127.0.0.2:7390", "TRUSTED_KEY="+key.Pub,
			"SITE=Branch-12", `CACHE_DIR=C:\SMSTorrentCache`, "CACHE_MAX=20GB", "LIMIT_DOWN=2MB/s", "LIMIT_UP=512KB/s",
			`"SCHEDULE=mon-fri 08:00-18:00 1MB/s 256KB/s"`, "LISTEN_PORT=6990", "FIREWALL=1")
		if code != 0 {
			t.Fatalf("msiexec /i: exit code %d\n%s\n%s", code, out, tail(log, 40))
		}
		// The setup step's own output reaches the MSI log too.
		mustContain(t, "the MSI log", log, `setup: configuration written to C:\ProgramData\SMSTorrent\config.json`)
		for _, exe := range programs {
			if !exists(p.c(programDir + `\` + exe.name + ".exe")) {
				t.Errorf("%s.exe not installed", exe.name)
			}
		}
		var c config.Config
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := config.Parse(b, &c); err != nil {
			t.Fatal(err)
		}
		w := c.Schedule[0]
		got := fmt.Sprintf("%s|%s|%v|%s|%d|%d|%d|%d|%v %s %s %d %d", c.Repository, c.Site, c.TrustedKeys, c.CacheDir, c.CacheMax,
			c.LimitDown, c.LimitUp, c.ListenPort, w.Days, w.From, w.To, w.LimitDown, w.LimitUp)
		want := fmt.Sprintf(`http://127.0.0.2:7390|Branch-12|[%s]|C:\SMSTorrentCache|20000000000|2000000|512000|6990|[mon-fri] 08:00 18:00 1000000 256000`, key.Pub)
		if got != want {
			t.Errorf("configuration:\n got %s\nwant %s", got, want)
		}
		out, _ = p.run(time.Minute, "", "reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, "/v", "SMSTorrent")
		mustContain(t, "the Run key", out, `"C:\Program Files\SMSTorrent\smstorrent-tray.exe"`)
		if n := p.pathEntries(); n != 1 {
			t.Errorf("the program folder is %d times on the system Path, want once", n)
		}
		// A new console finds the wrapper by its name (wine starts each
		// program from Linux with the registry's environment).
		out, code = p.exitCodeOf(time.Minute, "", "P2PWrapper.exe --version")
		if code != 0 || !strings.Contains(out, version) {
			t.Errorf("P2PWrapper.exe by name from PATH: exit %d\n%s", code, out)
		}
		out, _ = p.run(time.Minute, "", "reg", "query", `HKLM\Software\SMSTorrent`, "/v", "Config")
		mustContain(t, `HKLM\Software\SMSTorrent`, out, dataDir+`\config.json`)
		out, _ = p.run(time.Minute, "", "reg", "query", `HKLM\System\CurrentControlSet\Services\SMSTorrent`)
		mustContain(t, "the service's registry key", out, "Start    REG_DWORD    0x2", `ImagePath    REG_SZ    "C:\Program Files\SMSTorrent\smstorrent-service.exe" run`, "LocalSystem")
		t.Logf("service registration:\n%s", out)
		lnks, _ := filepath.Glob(filepath.Join(p.root, "drive_c", "*", "*", "AppData", "Roaming", "Microsoft", "Windows", "Start Menu", "Programs", "SMSTorrent", "SMSTorrent.lnk"))
		lnks2, _ := filepath.Glob(filepath.Join(p.root, "drive_c", "ProgramData", "Microsoft", "Windows", "Start Menu", "Programs", "SMSTorrent", "SMSTorrent.lnk"))
		if len(lnks)+len(lnks2) == 0 {
			t.Errorf("no Start menu shortcut SMSTorrent\\SMSTorrent.lnk")
		}
		if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(marker, []byte("seeded"), 0o644)
		// The seeding state: what a service that ran here would have saved.
		os.WriteFile(jobsPath, []byte(jobsState), 0o644)
		tray = p.startTray()
		os.MkdirAll(p.c(`C:\SMSTorrentCache\PS100099`), 0o755)
	})
	ok = ok && t.Run("console programs print the version", func(t *testing.T) {
		for _, c := range [][]string{{"smstorrent-service.exe", "version"}, {"P2PWrapper.exe", "--version"}, {"smstorrent-tracker.exe", "--version"}} {
			out, code := p.run(time.Minute, "", programDir+`\`+c[0], c[1])
			if code != 0 || !strings.Contains(out, version) {
				t.Errorf("%s %s: exit %d, %q; want %s", c[0], c[1], code, out, version)
			}
		}
	})
	ok = ok && t.Run("service API, ctl and the wrapper flow", func(t *testing.T) { serviceAndWrapper(t, p, key, version) })
	ok = ok && t.Run("major upgrade keeps configuration and cache", func(t *testing.T) {
		code, out, log := p.msiexec("/i", z(msi2))
		if code != 0 {
			t.Fatalf("upgrade: exit code %d\n%s\n%s", code, out, tail(log, 40))
		}
		mustContain(t, "the upgrade's MSI log", log, "RemoveExistingProducts")
		if n := p.pathEntries(); n != 1 {
			t.Errorf("after the upgrade the program folder is %d times on the system Path, want once", n)
		}
		b, _ := os.ReadFile(cfgPath)
		mustContain(t, "the configuration after the upgrade", string(b), "Branch-12", "6990", key.Pub)
		if !exists(marker) || !exists(p.c(programDir+`\smstorrent-service.exe`)) {
			t.Errorf("upgrade lost the cache or the program")
		}
		if b, err := os.ReadFile(jobsPath); err != nil || string(b) != jobsState {
			t.Errorf("upgrade lost or changed the job state: %v %q", err, b)
		}
		p.mustExit(tray, "the tray, at the upgrade")
		tray = p.startTray()
	})
	ok = ok && t.Run("uninstall keeps the data by default", func(t *testing.T) {
		code, out, log := p.msiexec("/x", z(msi2))
		if code != 0 {
			t.Fatalf("msiexec /x: exit code %d\n%s\n%s", code, out, tail(log, 40))
		}
		if exists(p.c(programDir + `\smstorrent-service.exe`)) {
			t.Errorf("program files left")
		}
		if out, _ := p.run(time.Minute, "", "reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, "/v", "SMSTorrent"); strings.Contains(out, "smstorrent-tray") {
			t.Errorf("the Run key is left: %s", out)
		}
		if out, _ := p.run(time.Minute, "", "reg", "query", `HKLM\System\CurrentControlSet\Services\SMSTorrent`); strings.Contains(out, "smstorrent-service") {
			t.Errorf("the service is still registered: %s", out)
		}
		if !exists(cfgPath) || !exists(marker) {
			t.Errorf("uninstall without REMOVE_CACHE=1 removed the data")
		}
		if n := p.pathEntries(); n != 0 {
			t.Errorf("after the uninstall the program folder is %d times on the system Path", n)
		}
		p.mustExit(tray, "the tray, at the uninstall")
	})
	ok = ok && t.Run("reinstall over a kept configuration needs no properties", func(t *testing.T) {
		if code, out, log := p.msiexec("/i", z(msi2)); code != 0 {
			t.Fatalf("reinstall: exit code %d\n%s\n%s", code, out, tail(log, 40))
		}
	})
	_ = ok && t.Run("uninstall with REMOVE_CACHE=1 removes the data", func(t *testing.T) {
		code, out, log := p.msiexec("/x", z(msi2), "REMOVE_CACHE=1")
		if code != 0 {
			t.Fatalf("msiexec /x: exit code %d\n%s\n%s", code, out, tail(log, 40))
		}
		mustContain(t, "the MSI log", log, "SMSTorrentTeardownPurge")
		if exists(p.c(dataDir)) {
			t.Errorf("%s is left", dataDir)
		}
		if exists(p.c(`C:\SMSTorrentCache\PS100099`)) {
			t.Errorf("the package folder in CACHE_DIR is left")
		}
		if out, _ := p.run(time.Minute, "", "reg", "query", `HKLM\Software\SMSTorrent`, "/v", "Config"); strings.Contains(out, "config.json") {
			t.Errorf("HKLM\\Software\\SMSTorrent Config is left: %s", out)
		}
	})
}

// startTray starts the installed tray (as a user's logon would), waits
// until it runs (it publishes its single-instance address), and returns a
// channel closed when it exits. It runs without a display: its icon fails,
// the process stays.
func (p *prefix) startTray() <-chan struct{} {
	p.t.Helper()
	u, err := user.Current() // wine's user is the Linux user
	if err != nil {
		p.t.Fatal(err)
	}
	addr := p.c(`C:\users\` + u.Username + `\AppData\Local\SMSTorrent\tray.addr`)
	os.Remove(addr)
	cmd := exec.Command("wine", programDir+`\smstorrent-tray.exe`)
	cmd.Dir = filepath.Join(p.root, "drive_c")
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(time.Minute)
	for !exists(addr) {
		select {
		case <-done:
			p.t.Fatalf("the tray exited at start")
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the tray did not publish %s within a minute", addr)
		}
		time.Sleep(200 * time.Millisecond) // polling interval
	}
	return done
}

// mustExit fails the test unless the process behind done has exited, or
// exits within 30 s (the teardown step terminates it; wine then ends the
// Linux process).
func (p *prefix) mustExit(done <-chan struct{}, what string) {
	p.t.Helper()
	if done == nil {
		p.t.Errorf("%s was not started", what)
		return
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.t.Errorf("%s is still running", what)
	}
}

// pathEntries counts the program folder's entries in the system Path, and
// checks that the value is still REG_EXPAND_SZ.
func (p *prefix) pathEntries() int {
	p.t.Helper()
	out, _ := p.run(time.Minute, "", "reg", "query", `HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment`, "/v", "Path")
	if !strings.Contains(out, "REG_EXPAND_SZ") {
		p.t.Errorf("the system Path is not REG_EXPAND_SZ:\n%s", out)
	}
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if _, v, ok := strings.Cut(line, "REG_EXPAND_SZ"); ok {
			for _, e := range strings.Split(strings.TrimSpace(v), ";") {
				if strings.EqualFold(strings.TrimRight(e, `\`), programDir) {
					n++
				}
			}
		}
	}
	return n
}

// uninstallAll removes every installed SMSTorrent product (an earlier run
// that stopped half-way leaves some).
func (p *prefix) uninstallAll() {
	p.t.Helper()
	out, _ := p.run(time.Minute, "", "reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall`, "/s")
	key := ""
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "HKEY_") {
			key = line[strings.LastIndex(line, `\`)+1:]
		} else if strings.HasPrefix(line, "DisplayName") && strings.HasSuffix(line, "SMSTorrent") && strings.HasPrefix(key, "{") {
			p.msiexec("/x", key)
		}
	}
}

// logLine is the first line of log that contains s, or "".
func logLine(log, s string) string {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, s) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// serviceAndWrapper runs the installed service in the foreground under wine
// ("run", TCP only: wine lacks the UDP ioctls the uTP socket needs) against a
// real tracker and origin on Linux, reads its status with ctl, and runs the
// wrapper as SCCM would from a C:\...\PS100012 folder.
func serviceAndWrapper(t *testing.T, p *prefix, key testbed.Key, version string) {
	tr := testbed.StartTracker(t, key)
	src := t.TempDir()
	testbed.WriteFiles(t, src, map[string]int{"data/payload.bin": 3 << 20})
	if err := os.WriteFile(filepath.Join(src, "install.cmd"), []byte("@echo installing %CD%\r\n@exit /b 42\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	setupExe(t, filepath.Join(src, "setup.exe"))
	appMSI(t, filepath.Join(src, "app.msi"))
	pkg := testbed.MakePackage(t, key, "PS100012", "1", src, tr.Announce, 256<<10)
	tr.Publish(pkg)
	testbed.StartOrigin(t, key, tr, pkg)

	const check = `C:\smstorrent-check`
	data := check + `\data`
	os.RemoveAll(p.c(data))
	cfg := fmt.Sprintf(`{"data_dir": %q, "api_listen": "127.0.0.1:%d", "listen_host": "127.0.0.1", "listen_port": %d,
 "transports": ["tcp"], "repository": %q, "trusted_keys": [%q], "server_networks": ["%s/32"], "yield": false,
 "retry_min": "500ms", "retry_max": "2s"}`, data, freePort(t), freePort(t), tr.Repository, key.Pub, testbed.OriginIP)
	if err := os.WriteFile(p.c(check+`\config.json`), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	svc := exec.CommandContext(ctx, "wine", programDir+`\smstorrent-service.exe`, "run", "--config", check+`\config.json`)
	svc.Dir = p.c(`C:\`)
	logf, _ := os.Create(filepath.Join(t.TempDir(), "service.out"))
	svc.Stdout, svc.Stderr = logf, logf
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = svc.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("service output:\n%s", tail(string(b), 40))
		}
	})
	client := &api.Client{DataDir: p.c(data)}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := client.Status(context.Background())
		if err == nil {
			if st.Version != version {
				t.Errorf("API status version %q, want %q", st.Version, version)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service under wine did not answer: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	out, code := p.run(time.Minute, "", programDir+`\smstorrent-service.exe`, "ctl", "status", "--config", check+`\config.json`)
	if code != 0 || !strings.Contains(out, version) {
		t.Errorf("ctl status: exit %d\n%s", code, out)
	}
	t.Logf("ctl status under wine:\n%s", out)

	// SCCM runs the program from the package's source folder. The
	// package's own programs run directly, as any command does: the engine
	// holds a complete package's files read-only, so CreateProcess of a file
	// in the cache does not meet a writer (a sharing violation on Windows).
	pkgDir := check + `\dp01\SMSPKGD$\PS100012`
	if err := os.MkdirAll(p.c(pkgDir), 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := func(command string) string {
		return fmt.Sprintf(`cd /d "%s"`+"\r\n"+`"%s\P2PWrapper.exe" --data-dir %s %s`, pkgDir, programDir, data, command)
	}
	out, code = p.exitCodeOf(time.Minute, "", wrapper("install.cmd"))
	if code != 1618 {
		t.Fatalf("first run: exit code %d, want 1618 (retry)\n%s", code, out)
	}
	for {
		out, code = p.exitCodeOf(time.Minute, "", wrapper("install.cmd"))
		if code != 1618 {
			break
		}
		if time.Now().After(deadline.Add(time.Minute)) {
			t.Fatalf("the package never completed:\n%s", out)
		}
		time.Sleep(2 * time.Second) // SCCM's retry interval, shortened
	}
	if code != 42 {
		t.Fatalf("complete package: exit code %d, want install.cmd's 42\n%s", code, out)
	}
	mustContain(t, "the wrapper's output", out, `installing C:\smstorrent-check\data\cache\PS100012`)
	out, code = p.exitCodeOf(time.Minute, "", wrapper("setup.exe /S"))
	if code != 43 {
		t.Fatalf("setup.exe from the cache: exit code %d, want 43\n%s", code, out)
	}
	mustContain(t, "setup.exe's output", out, `setup.exe /S in C:\smstorrent-check\data\cache\PS100012`)
	// The commonest SCCM program: msiexec installing an MSI of the package.
	out, code = p.exitCodeOf(2*time.Minute, "", wrapper("msiexec.exe /i app.msi /qn"))
	installed := p.c(`C:\Program Files\SMSTorrentCheckApp\hello.txt`)
	t.Cleanup(func() { p.msiexec("/x", data+`\cache\PS100012\app.msi`) })
	if code != 0 || !exists(installed) {
		t.Fatalf("msiexec /i app.msi from the cache: exit code %d, installed %v\n%s", code, exists(installed), out)
	}
	t.Logf("wrapper: 1618 while downloading, then install.cmd (exit 42), setup.exe (exit 43) and msiexec /i app.msi (exit 0) ran from the cache, codes passed through")
}

// appMSI builds a small MSI at path that installs one file,
// C:\Program Files\SMSTorrentCheckApp\hello.txt: a package's own MSI.
func appMSI(t *testing.T, path string) {
	t.Helper()
	dir := t.TempDir()
	const wxs = `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="SMSTorrent check app" Language="1033" Version="1.0.0" Manufacturer="SMSTorrent"
           UpgradeCode="0B7E4C1A-6D2F-4E83-9A15-C3D8F2B7E604">
    <Package InstallerVersion="500" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="app.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFiles64Folder">
        <Directory Id="APPDIR" Name="SMSTorrentCheckApp">
          <Component Id="Hello" Guid="5C2A9E17-3F4B-4D86-B1E0-7A9C6D3F2E58" Win64="yes">
            <File Id="Hello" Name="hello.txt" Source="hello.txt" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="All" Level="1"><ComponentRef Id="Hello"/></Feature>
  </Product>
</Wix>
`
	if err := os.WriteFile(filepath.Join(dir, "app.wxs"), []byte(wxs), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from the cache\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("wixl", "-a", "x64", "-o", path, "app.wxs")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wixl app.msi: %v\n%s", err, b)
	}
}

// setupExe builds a small Windows program at path that prints its command
// line and folder and exits with 43: a package's own setup.exe.
func setupExe(t *testing.T, path string) {
	t.Helper()
	c := filepath.Join(t.TempDir(), "setup.c")
	const prog = `#include <windows.h>
#include <stdio.h>
int main(int argc, char **argv) {
	char dir[MAX_PATH];
	GetCurrentDirectoryA(sizeof dir, dir);
	printf("setup.exe %s in %s\n", argc > 1 ? argv[1] : "", dir);
	return 43;
}
`
	if err := os.WriteFile(c, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-o", path, c).CombinedOutput(); err != nil {
		t.Fatalf("building setup.exe: %v\n%s", err, b)
	}
}
