package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

// binary is the hookflow command built once by TestMain for the tests that
// run it as a subprocess; empty under -short, where those tests skip.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hookflow-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir for the binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	binary = filepath.Join(dir, "hookflow")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// startReceiver starts a loopback receiver running script, closed when t
// ends.
func startReceiver(t *testing.T, script receiver.Script) *receiver.Receiver {
	t.Helper()
	rcv, err := receiver.Start(script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	return rcv
}

// needBinary skips t when the binary was not built (-short).
func needBinary(t *testing.T) {
	t.Helper()
	if binary == "" {
		t.Skip("subprocess test: skipped with -short")
	}
}

// serveFlags are the serve settings the subprocess tests share. The lease
// exceeds the request timeout (serve refuses otherwise) and is short, so a
// delivery a killed process held is claimable again soon after a restart.
// Every test delivery goes to one loopback receiver, so the per-host limit
// is raised to hold dozens of requests in flight at the kill; the limit
// itself is tested in e2e.
var serveFlags = []string{
	"--listen", "127.0.0.1:0",
	"--max-per-host", "256",
	"--allow-destinations", "127.0.0.0/8",
	"--request-timeout", "10s",
	"--lease", "16s",
	"--poll-interval", "100ms",
	"--log-format", "json",
	"--log-level", "debug",
}

// proc is one running `hookflow serve`.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  *logWatch
	base string
	done chan struct{}
}

// startServe runs `hookflow serve` on dir and waits until its API answers.
// Its log is printed if the test fails; the process is killed at cleanup.
func startServe(t *testing.T, dir string) *proc {
	t.Helper()
	return startServeArgs(t, append([]string{"--data-dir", dir}, serveFlags...)...)
}

// startServeArgs is startServe with the serve flags given in full.
func startServeArgs(t *testing.T, args ...string) *proc {
	t.Helper()
	lw := &logWatch{listening: make(chan string, 1)}
	cmd := exec.Command(binary, append([]string{"serve"}, args...)...)
	cmd.Stderr = lw
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting hookflow serve: %v", err)
	}

	p := &proc{t: t, cmd: cmd, log: lw, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("hookflow serve (pid %d) log:\n%s", cmd.Process.Pid, lw.String())
		}
	})

	select {
	case url := <-lw.listening:
		p.base = url
	case <-p.done:
		t.Fatalf("hookflow serve exited at start: %s", cmd.ProcessState)
	case <-time.After(20 * time.Second):
		t.Fatal("hookflow serve did not log its address within 20s")
	}
	p.waitHealthy()
	return p
}

func (p *proc) waitHealthy() {
	p.t.Helper()
	waitFor(p.t, 10*time.Second, "GET /healthz answers 200", func() (bool, error) {
		resp, err := http.Get(p.base + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// kill sends SIGKILL and waits for the process to die: no shutdown code
// runs, attempts in flight are cut and nothing unwritten is saved.
func (p *proc) kill() {
	p.t.Helper()
	// On Unix, Process.Kill is SIGKILL; the wait status below proves it.
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatalf("kill: %v", err)
	}
	<-p.done
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		p.t.Fatalf("hookflow serve ended with %s, want death by SIGKILL", p.cmd.ProcessState)
	}
}

// stop kills the process if it still runs and waits for it.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// logWatch keeps the JSON log of a serve process and reports the API's URL
// from its "hookflow started" line.
type logWatch struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	partial   []byte
	listening chan string
}

func (w *logWatch) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)

	// Lines may arrive split across writes: scan only whole ones.
	w.partial = append(w.partial, b...)
	i := bytes.LastIndexByte(w.partial, '\n')
	if i < 0 {
		return len(b), nil
	}
	sc := bufio.NewScanner(bytes.NewReader(w.partial[:i+1]))
	for sc.Scan() {
		var line struct{ Msg, Listen string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "hookflow started" {
			select {
			case w.listening <- line.Listen:
			default:
			}
		}
	}
	w.partial = append(w.partial[:0], w.partial[i+1:]...)
	return len(b), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// createKey runs `hookflow keys create` on dir and returns the secret, which
// is the last line it prints.
func createKey(t *testing.T, dir string) string {
	t.Helper()
	return createKeyArgs(t, "--data-dir", dir)
}

// createKeyArgs is createKey on the store that storeArgs name.
func createKeyArgs(t *testing.T, storeArgs ...string) string {
	t.Helper()
	args := append([]string{"keys", "create", "--name", "t"}, storeArgs...)
	out, err := exec.Command(binary, args...).Output()
	if err != nil {
		t.Fatalf("hookflow keys create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// client calls the API of whichever serve process runs now.
type client struct {
	t    *testing.T
	base string
	key  string
}

// call sends body as JSON and decodes the answer into out (when not nil).
// A status other than 200 or 201 fails the test.
func (c *client) call(method, path string, body, out any) {
	c.t.Helper()
	if err := c.try(method, path, body, out); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) try(method, path string, body, out any) error {
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, in)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding %s: %w", method, path, b, err)
	}
	return nil
}

// delivery is the part of the activity log's delivery the tests read.
type delivery struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Attempts   int    `json:"attempts"`
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error"`
	Request    *struct {
		Body string `json:"body"`
	} `json:"request"`
}

// deliveries lists a campaign's deliveries, in one state when state is set.
func (c *client) deliveries(campaign, state string) ([]delivery, error) {
	var out struct{ Deliveries []delivery }
	path := "/v1/deliveries?limit=1000&campaign_id=" + campaign
	if state != "" {
		path += "&state=" + state
	}
	err := c.try(http.MethodGet, path, nil, &out)
	return out.Deliveries, err
}

// waitFor polls cond every 50ms until it holds, fails or timeout passes.
// The timeout only bounds a hung test: the assertions are on values.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting until %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting until %s: still not after %s", what, timeout)
		case <-tick.C:
		}
	}
}
