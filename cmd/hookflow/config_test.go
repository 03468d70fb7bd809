package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/hookflow/hookflow"
)

// parseServe parses a serve command line as main does, with no HOOKFLOW_*
// variable set but those in env.
func parseServe(t *testing.T, env map[string]string, args ...string) *serveCmd {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "HOOKFLOW_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c cli
	parser, err := kong.New(&c, kong.Name("hookflow"), kong.Vars{"scopes": strings.Join(hookflow.KnownScopes, ", ")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(append([]string{"serve"}, args...)); err != nil {
		t.Fatalf("parsing serve %v: %v", args, err)
	}
	return &c.Serve
}

// The delivery contract's defaults: a 90 s request timeout, retries for
// 24 h, and the API on loopback with its data in ./data.
func TestServeDefaults(t *testing.T) {
	c := parseServe(t, nil)
	if c.RequestTimeout != 90*time.Second || c.RetryWindow != 24*time.Hour || c.Lease != 0 ||
		c.Listen != "127.0.0.1:8080" || c.DataDir != "./data" || c.MaxResponseKB != 64 {
		t.Errorf("defaults: timeout %s, retry window %s, lease %s, listen %s, data dir %s, response %d KB",
			c.RequestTimeout, c.RetryWindow, c.Lease, c.Listen, c.DataDir, c.MaxResponseKB)
	}
}

// A HOOKFLOW_* variable sets its flag's value, and the flag wins over it.
func TestServeEnvironmentAndFlags(t *testing.T) {
	c := parseServe(t, map[string]string{"HOOKFLOW_REQUEST_TIMEOUT": "5s", "HOOKFLOW_ALLOW_DESTINATIONS": "127.0.0.1/32,localhost"})
	if c.RequestTimeout != 5*time.Second || strings.Join(c.AllowDestinations, " ") != "127.0.0.1/32 localhost" {
		t.Errorf("from the environment: timeout %s, allow %q", c.RequestTimeout, c.AllowDestinations)
	}
	c = parseServe(t, map[string]string{"HOOKFLOW_REQUEST_TIMEOUT": "5s"}, "--request-timeout", "7s")
	if c.RequestTimeout != 7*time.Second {
		t.Errorf("flag over the environment: timeout %s, want 7s", c.RequestTimeout)
	}
}

// readmeRow is a row of the README's configuration table:
// | `--flag` | `VAR` | `default` or words | meaning |
var readmeRow = regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `(HOOKFLOW_[A-Z_]+)` \\| ([^|]+) \\|")

// Every serve flag is in the README's configuration table with its
// variable and its default, as kong has them.
func TestReadmeConfigurationTableMatchesFlags(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][2]string{}
	for _, m := range readmeRow.FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = [2]string{m[2], strings.TrimSpace(m[3])}
	}

	var c cli
	parser, err := kong.New(&c, kong.Name("hookflow"), kong.Vars{"scopes": strings.Join(hookflow.KnownScopes, ", ")})
	if err != nil {
		t.Fatal(err)
	}
	var serve *kong.Node
	for _, n := range parser.Model.Children {
		if n.Name == "serve" {
			serve = n
		}
	}
	for _, f := range serve.Flags {
		if f.Name == "help" {
			continue
		}
		row, ok := rows[f.Name]
		switch {
		case !ok:
			t.Errorf("--%s is not in the README's configuration table", f.Name)
		case len(f.Envs) != 1 || row[0] != f.Envs[0]:
			t.Errorf("--%s: README names %s, the flag reads %v", f.Name, row[0], f.Envs)
		case f.Default != "" && row[1] != "`"+f.Default+"`":
			t.Errorf("--%s: README default %s, the flag's is %q", f.Name, row[1], f.Default)
		case f.Default == "" && strings.HasPrefix(row[1], "`"):
			t.Errorf("--%s: README default %s, the flag has none", f.Name, row[1])
		}
	}
}

// A first start prints how to make an API key, as a command that works
// when pasted: the binary as it was run, on the same data directory.
func TestFirstStartHintCreatesAKey(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	p := startServe(t, dir)

	// The hint follows the start-up line the health check waited for, so
	// it may not be in the log yet.
	var hint string
	waitFor(t, 5*time.Second, "the first start hint is printed", func() (bool, error) {
		for _, line := range strings.Split(p.log.String(), "\n") {
			if strings.Contains(line, " keys create ") {
				hint = strings.TrimSpace(line)
			}
		}
		return hint != "", nil
	})
	if want := binary + " keys create --data-dir " + dir + " --name ops --scopes all"; hint != want {
		t.Fatalf("first start hint %q, want %q", hint, want)
	}
	out, err := exec.Command("sh", "-c", hint).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "with scopes all") {
		t.Fatalf("running the hint: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	c := &client{t: t, base: p.base, key: lines[len(lines)-1]}
	if err := c.try(http.MethodGet, "/v1/campaigns", nil, nil); err != nil {
		t.Errorf("the key the hint made: %v", err)
	}
}

// A lease that leaves less than the request timeout to an attempt that
// starts late (held in the hand-off for a tenth of the lease, then waiting
// for a slot of its host) would let a claim expire under an attempt still
// waiting for a slow receiver, which would then get a second copy (T6):
// serve refuses it, and the refused start leaves no data directory behind.
// With a 10 s timeout the least lease is (10 + 4) x 10/9 s, rounded up.
func TestServeRefusesALeaseTooShortForTheTimeout(t *testing.T) {
	needBinary(t)
	for _, lease := range []string{"5s", "10s", "15s"} {
		dir := filepath.Join(t.TempDir(), "data")
		out, err := exec.Command(binary, "serve", "--data-dir", dir, "--listen", "127.0.0.1:0",
			"--request-timeout", "10s", "--lease", lease).CombinedOutput()
		want := "--lease (" + lease + ") must be at least 16s with --request-timeout 10s: a delivery may wait"
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("--lease %s: err %v, output %q; want a refusal saying %q", lease, err, out, want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("--lease %s: the refused start left %s behind (stat: %v)", lease, dir, err)
		}
	}
}

// serve's default lease is the request timeout and a minute, or the least
// lease the timeout needs when that is more (past a timeout of about
// 505 s): a timeout alone never gets its own default refused.
func TestServeDefaultLeaseCoversLongTimeouts(t *testing.T) {
	tests := []struct{ timeout, want time.Duration }{
		{90 * time.Second, 150 * time.Second},
		{8 * time.Minute, 9 * time.Minute},
		{9 * time.Minute, 605 * time.Second},
	}
	for _, tt := range tests {
		got, err := (&serveCmd{RequestTimeout: tt.timeout}).lease()
		if err != nil || got != tt.want {
			t.Errorf("timeout %s: lease %s, %v; want %s", tt.timeout, got, err, tt.want)
		}
	}
}
