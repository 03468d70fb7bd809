package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one Hookflow process under test, on a fresh data directory.
type server struct {
	cmd  *exec.Cmd
	dir  string
	url  string
	key  string
	done chan error
	// profile is the CPU profile the process writes, if any.
	profile string
}

// startHookflow starts `hookflow serve` on a fresh data directory and a free
// loopback port, with an API key holding every scope.
func (b *bench) startHookflow(scenario string) (*server, error) {
	dir, err := os.MkdirTemp(b.tmp, scenario+"-")
	if err != nil {
		return nil, fmt.Errorf("making data dir: %w", err)
	}
	key, err := b.createKey(dir)
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}

	cmd, err := b.serveCommand(scenario, dir, addr)
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "hookflow.log"))
	if err != nil {
		return nil, fmt.Errorf("creating log file: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting hookflow: %w", err)
	}
	s := &server{cmd: cmd, dir: dir, url: "http://" + addr, key: key, done: make(chan error, 1)}
	if b.profileDir != "" {
		s.profile = filepath.Join(b.profileDir, scenario+".cpu.pprof")
	}
	go func() {
		s.done <- cmd.Wait()
		logFile.Close()
	}()
	if err := s.waitHealthy(10 * time.Second); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

func (b *bench) serveCommand(scenario, dir, addr string) (*exec.Cmd, error) {
	args, err := b.backend.storeArgs(dir)
	if err != nil {
		return nil, err
	}
	args = append(args, "--listen", addr, "--allow-destinations", "127.0.0.1/32")
	if b.serveConcurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(b.serveConcurrency))
	}
	if b.serveBatch > 0 {
		args = append(args, "--batch-size", strconv.Itoa(b.serveBatch))
	}
	cmd := exec.Command(b.bin, append([]string{"serve"}, args...)...)
	if b.profileDir != "" {
		prof := filepath.Join(b.profileDir, scenario+".cpu.pprof")
		cmd.Env = append(os.Environ(), profileEnv+"="+prof)
	}
	return cmd, nil
}

// createKey runs `hookflow keys create`, which prints the secret on its last
// line; it also creates the schema.
func (b *bench) createKey(dir string) (string, error) {
	args, err := b.backend.storeArgs(dir)
	if err != nil {
		return "", err
	}
	args = append([]string{"keys", "create", "--name", "bench", "--scopes", "all"}, args...)
	out, err := exec.Command(b.bin, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("hookflow keys create: %w: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *server) waitHealthy(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("hookflow exited at start (%v); see %s/hookflow.log", err, s.dir)
		default:
		}
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("hookflow not healthy after %s; see %s/hookflow.log", limit, s.dir)
}

// stop ends the profile if one is written, asks Hookflow to shut down, and
// kills it if it has not exited in time.
func (s *server) stop() {
	s.endProfile()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.kill()
	}
}

func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// procStats is what the kernel says about the Hookflow process.
type procStats struct {
	// PeakRSS is VmHWM: the resident set's high-water mark, in bytes.
	PeakRSS int64
	// CPU is user plus system time since the process started.
	CPU time.Duration
}

// userHZ is the unit of utime and stime in /proc/<pid>/stat; Linux fixes it
// at 100 for user space whatever the kernel's internal tick.
const userHZ = 100

func (s *server) stats() (procStats, error) { return readProcStats(s.cmd.Process.Pid) }

// readProcStats reads VmHWM from /proc/<pid>/status and utime+stime from
// /proc/<pid>/stat.
func readProcStats(pid int) (procStats, error) {
	var st procStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, fmt.Errorf("reading status: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			st.PeakRSS = kb << 10
		}
	}

	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, fmt.Errorf("reading stat: %w", err)
	}
	// The command name may hold spaces; fields are counted after its ")".
	rest := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	// rest[0] is field 3 (state); utime and stime are fields 14 and 15.
	utime, _ := strconv.ParseInt(rest[11], 10, 64)
	stime, _ := strconv.ParseInt(rest[12], 10, 64)
	st.CPU = time.Duration(utime+stime) * time.Second / userHZ
	return st, nil
}

// buildHookflow builds ./cmd/hookflow of the module the bench runs in; with
// profile, one that can write a CPU profile (see profile.go).
func buildHookflow(ctx context.Context, dir string, profile bool) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "", fmt.Errorf("finding the module (run the bench inside the repository): %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "hookflow")
	args := []string{"build", "-o", bin}
	if profile {
		overlay, err := profileOverlay(root, dir)
		if err != nil {
			return "", err
		}
		args = append(args, "-overlay", overlay)
	}
	build := exec.CommandContext(ctx, "go", append(args, "./cmd/hookflow")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/hookflow: %w: %s", err, out)
	}
	return bin, nil
}
