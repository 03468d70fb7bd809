package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// `hookflow serve` has no profiling switch yet. With -profile the bench
// builds the real cmd/hookflow with one extra file laid over it (go build
// -overlay; nothing in the repository changes): an init that, when
// profileEnv names a file, writes a CPU profile of the whole process there
// until SIGTERM. The profile is of the real binary, wiring and all, and
// holds Hookflow's CPU only, not the load driver's or the receiver's.
//
// With it, a heap profile ("<scenario>.heap.pprof": allocations since the
// start, and what is live at the end) and a block profile (where goroutines
// waited) are written too.
//
// The bench ends a profile with SIGUSR1 and waits for "<file>.done" before
// it stops the process: stopping on SIGTERM would race serve's own exit and
// leave the file cut short.
const profileEnv = "HOOKFLOW_BENCH_CPUPROFILE"

const profileSource = `package main

import (
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
)

func init() {
	path := os.Getenv("` + profileEnv + `")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	// Where goroutines wait (a lock, the one SQLite write connection, a
	// channel): sampled about once per 100 µs blocked.
	runtime.SetBlockProfileRate(100000)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGUSR1)
	go func() {
		<-stop
		pprof.StopCPUProfile()
		f.Close()
		for _, kind := range []string{"heap", "block"} {
			if h, err := os.Create(strings.TrimSuffix(path, ".cpu.pprof") + "." + kind + ".pprof"); err == nil {
				pprof.Lookup(kind).WriteTo(h, 0)
				h.Close()
			}
		}
		os.WriteFile(path+".done", nil, 0o644)
	}()
}
`

// profileOverlay writes the overlay that adds profileSource to
// cmd/hookflow in root, and returns the overlay file's path.
func profileOverlay(root, dir string) (string, error) {
	src := filepath.Join(dir, "benchprofile.go")
	if err := os.WriteFile(src, []byte(profileSource), 0o644); err != nil {
		return "", fmt.Errorf("writing overlay source: %w", err)
	}
	target := filepath.Join(root, "cmd", "hookflow", "zz_benchprofile.go")
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {target: src}})
	path := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(path, overlay, 0o644); err != nil {
		return "", fmt.Errorf("writing overlay: %w", err)
	}
	return path, nil
}

// endProfile makes a profiling Hookflow write out its profile, and waits
// until it has.
func (s *server) endProfile() {
	if s.profile == "" {
		return
	}
	s.cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(s.profile + ".done"); err == nil {
			os.Remove(s.profile + ".done")
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
