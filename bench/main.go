// Command bench measures Hookflow against the bars of issue 6. It starts
// Hookflow as a process of its own (a fresh data directory per scenario), a
// receiver on loopback in the bench process, and a load driver, then prints
// one Markdown table per scenario and one against the bars.
//
//	go run ./bench -scenarios intake,e2e,e2e-1000,fanout,broadcast,neighbours -duration 10s
//
// Scenarios:
//
//	loopback    no Hookflow: the driver posts straight to the receiver,
//	            the ceiling of this machine (at most 5 s)
//	intake      /users/track, 75 events a call, no campaign listening
//	e2e         every event triggers one webhook; full speed, backlog capped
//	e2e-1000    the same at a fixed 1,000 events/s (10 events a call)
//	fanout      /campaigns/trigger/send, 50 recipients a call
//	broadcast   one broadcast send to -broadcast-users existing users
//	neighbours  e2e-1000 while another endpoint answers in 30 s and one
//	            answers 500 to everything
//	neighbours-good
//	            neighbours with both other endpoints healthy: what the
//	            neighbours' volume costs, apart from their misbehaviour
//
// With -backend postgres -postgres-dsn URL every scenario runs on
// PostgreSQL instead, in a fresh schema dropped afterwards. With -profile DIR
// Hookflow writes CPU, heap and block profiles per scenario (profile.go).
// BENCHMARKS.md, at the repository root, holds results and what they mean.
//
// Latency is measured from the moment the /users/track (or send) response
// arrived at the driver, "accepted", to the moment the receiver's handler
// started for the webhook. Driver and receiver share one monotonic clock.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// bench holds the flags and what the scenarios share.
type bench struct {
	bin              string
	tmp              string
	backend          backend
	duration         time.Duration
	drain            time.Duration
	workers          int
	users            int
	rate             int
	maxBacklog       int
	broadcastUsers   int
	neighbours       int
	serveConcurrency int
	serveBatch       int
	profileDir       string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var b bench
	// e2e-1000 runs just before the neighbours, which are judged against
	// it: latency drifts up with a scenario's place in the run (most on
	// PostgreSQL), and a baseline measured four scenarios earlier made the
	// neighbours look worse than they were.
	scenarios := flag.String("scenarios", "loopback,intake,e2e,fanout,broadcast,e2e-1000,neighbours,neighbours-good",
		"comma-separated scenarios to run")
	backendName := flag.String("backend", "sqlite", "store: sqlite, or postgres (needs -postgres-dsn; a fresh schema per scenario)")
	dsn := flag.String("postgres-dsn", "", "PostgreSQL URL for -backend postgres, e.g. postgres://127.0.0.1:5432/test")
	flag.StringVar(&b.bin, "hookflow", "", "hookflow binary; default: go build ./cmd/hookflow into a temp dir")
	flag.DurationVar(&b.duration, "duration", 10*time.Second, "load phase of each scenario")
	flag.DurationVar(&b.drain, "drain", 30*time.Second, "longest wait, after the load, for the webhooks still due")
	flag.IntVar(&b.workers, "concurrency", 16, "concurrent API clients of the load driver")
	flag.IntVar(&b.users, "users", 10000, "distinct users the events and sends pick from")
	flag.IntVar(&b.rate, "rate", 1000, "events/s offered by e2e-1000 and neighbours")
	flag.IntVar(&b.maxBacklog, "max-backlog", 20000, "e2e: most events accepted but not yet delivered")
	flag.IntVar(&b.broadcastUsers, "broadcast-users", 100000, "users of the broadcast")
	flag.IntVar(&b.neighbours, "neighbour-events", 1, "neighbours: events per 10-event call for each bad endpoint")
	flag.IntVar(&b.serveConcurrency, "serve-concurrency", 0, "hookflow serve --concurrency (0: its default)")
	flag.IntVar(&b.serveBatch, "serve-batch-size", 0, "hookflow serve --batch-size (0: its default)")
	flag.StringVar(&b.profileDir, "profile", "",
		"write CPU, heap and block profiles of Hookflow per scenario into this directory")
	flag.Parse()

	var err error
	if b.backend, err = newBackend(*backendName, *dsn); err != nil {
		return err
	}
	if _, err := b.backend.storeArgs(os.TempDir()); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "hookflow-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(b.tmp)
	if b.profileDir != "" {
		if b.bin != "" {
			return fmt.Errorf("-profile builds its own hookflow; leave out -hookflow")
		}
		if b.profileDir, err = filepath.Abs(b.profileDir); err != nil {
			return err
		}
		if err := os.MkdirAll(b.profileDir, 0o755); err != nil {
			return err
		}
	}
	if b.bin == "" {
		fmt.Fprintln(os.Stderr, "building hookflow …")
		if b.bin, err = buildHookflow(context.Background(), b.tmp, b.profileDir != ""); err != nil {
			return err
		}
	}

	machine(&b)
	results := map[string]*result{}
	for name := range strings.SplitSeq(*scenarios, ",") {
		fmt.Fprintf(os.Stderr, "running %s …\n", name)
		r, err := b.scenario(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		results[r.name] = r
		printResult(os.Stdout, r)
	}
	printBars(os.Stdout, results, b.backend.name())
	fmt.Printf("\nload average at the end: %s\n", loadAvg())
	return nil
}

func (b *bench) scenario(name string) (*result, error) {
	switch name {
	case "loopback":
		return b.loopback(), nil
	case "intake":
		return b.intake(), nil
	case "e2e":
		return b.e2e(), nil
	case "e2e-1000":
		return b.e2eRate("e2e-1000", 0), nil
	case "fanout":
		return b.fanout(), nil
	case "broadcast":
		return b.broadcast(), nil
	case "neighbours":
		return b.e2eRate("neighbours", b.neighbours), nil
	case "neighbours-good":
		return b.e2eRate("neighbours-good", b.neighbours), nil
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// machine prints what the numbers were measured on.
func machine(b *bench) {
	fmt.Printf("## run of %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("- command: `%s`\n", strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " "))
	fmt.Printf("- hookflow binary: %s\n", b.bin)
	fmt.Printf("- backend: %s; cores (runtime.NumCPU): %d; %s\n", b.backend.name(), runtime.NumCPU(), memTotal())
	if out, err := exec.Command("go", "version").Output(); err == nil {
		fmt.Printf("- %s", out)
	}
	if out, err := exec.Command("git", "log", "-1", "--format=%h %s").Output(); err == nil {
		fmt.Printf("- repository at %s", out)
	}
	// Other work on the machine skews every number; say how busy it was.
	fmt.Printf("- load average at the start: %s\n", loadAvg())
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.Join(strings.Fields(line), " ")
}
