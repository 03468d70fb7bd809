package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/netguard"
	"github.com/hookflow/hookflow/sender"
	"github.com/hookflow/hookflow/trigger"
)

type serveCmd struct {
	storeFlags
	logFlags
	Listen            string        `default:"127.0.0.1:8080" env:"HOOKFLOW_LISTEN" help:"Address of the HTTP API. Default ${default}."`
	RequestTimeout    time.Duration `default:"90s" env:"HOOKFLOW_REQUEST_TIMEOUT" help:"Deadline of one webhook attempt, reading the response included (Braze: 90s). Default ${default}."`
	MaxResponseKB     int64         `default:"64" env:"HOOKFLOW_MAX_RESPONSE_KB" help:"Response body kilobytes read and kept per attempt; the rest is not read. Default ${default}."`
	Concurrency       int           `default:"1024" env:"HOOKFLOW_CONCURRENCY" help:"Most webhook attempts in flight at once, and deliveries waiting in memory for a slot of their host. Default ${default}."`
	BatchSize         int           `default:"512" env:"HOOKFLOW_BATCH_SIZE" help:"Most deliveries claimed from the queue at once. Default ${default}."`
	PollInterval      time.Duration `default:"1s" env:"HOOKFLOW_POLL_INTERVAL" help:"Longest a due delivery waits when no wake-up comes. Default ${default}."`
	Lease             time.Duration `env:"HOOKFLOW_LEASE" help:"How long a claimed delivery is held before another sender may take it (after a crash). At least (request timeout + 4s) x 10/9, rounded up to a second. Default: request timeout + 60s, or that minimum if larger."`
	RetryWindow       time.Duration `default:"24h" env:"HOOKFLOW_RETRY_WINDOW" help:"How long after its first attempt a delivery is retried. Default ${default}."`
	MaxPerHost        int           `default:"32" env:"HOOKFLOW_MAX_PER_HOST" help:"Most attempts in flight to one host, so a slow or failing endpoint cannot take every sender: keep it a small fraction of --concurrency. Default ${default}."`
	UnhealthyAfter    int           `default:"3000" env:"HOOKFLOW_UNHEALTHY_AFTER" help:"A host with more than this many failures (408, 429, 502, 503, 504, 529, connection errors, timeouts) in a sliding minute is paused for a minute (Braze: 3000). Default ${default}."`
	RateLimitPerHour  int           `default:"250000" name:"rate-limit-per-hour" env:"HOOKFLOW_RATE_LIMIT_PER_HOUR" help:"API requests one key may make per clock hour, counted on each node; over it the API answers 429 (Braze: 250000). Default ${default}."`
	AllowDestinations []string      `env:"HOOKFLOW_ALLOW_DESTINATIONS" sep:"," help:"Comma-separated CIDRs and host names webhooks may reach although they are not public, e.g. 127.0.0.0/8,localhost. Default: none."`
	PprofListen       string        `env:"HOOKFLOW_PPROF_LISTEN" help:"Address of a second listener serving Go's profiles under /debug/pprof/ (no API key: keep it on loopback). Default: off."`
}

// lease is the sender's lease: --lease, or sender.DefaultLease (the
// request timeout and a minute, covering the time from claim to send and
// from response to recorded outcome) when it is 0.
func (c *serveCmd) lease() (time.Duration, error) {
	lease := c.Lease
	if lease == 0 {
		lease = sender.DefaultLease(c.RequestTimeout)
	}
	if least := sender.MinLease(c.RequestTimeout); lease < least {
		return 0, fmt.Errorf("--lease (%s) must be at least %s with --request-timeout %s: a delivery may wait a tenth "+
			"of its lease before its attempt starts, and a lease that ends under an attempt lets a slow receiver "+
			"get a second copy", lease, least, c.RequestTimeout)
	}
	return lease, nil
}

// gcPercent is the garbage collector's target unless GOGC sets one: the
// heap may grow to three times what is live before a collection, not
// twice. Collections took a sixth of serve's CPU under load; at 200 the
// bench's intake went from 62,000-65,000 to 81,000-82,000 events/s and its
// peak RSS from 111 to 119 MB (at 400, no faster and 135 MB).
const gcPercent = 200

func (c *serveCmd) Run() error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	log := c.logger()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Settings are checked before the store is opened, so a refused start
	// creates and migrates nothing.
	lease, err := c.lease()
	if err != nil {
		return err
	}
	guard, err := netguard.New(c.AllowDestinations)
	if err != nil {
		return fmt.Errorf("--allow-destinations: %w", err)
	}

	store, err := c.openLogged(ctx, false, log)
	if err != nil {
		return err
	}
	defer store.Close()

	clock := hookflow.SystemClock{}
	client := deliver.NewClient(deliver.Options{
		Timeout:          c.RequestTimeout,
		MaxResponseBytes: c.MaxResponseKB << 10,
		DialContext:      guard.DialContext(&net.Dialer{Timeout: c.RequestTimeout}),
	})
	gate := hostgate.New(clock, hostgate.Options{
		MaxPerHost: c.MaxPerHost, FailureThreshold: c.UnhealthyAfter, Log: log.With("component", "hostgate"),
	})
	m := newMetrics(store, gate, clock)

	policy := deliver.DefaultPolicy()
	policy.Window = c.RetryWindow
	snd := sender.New(store, client, policy, clock, log.With("component", "sender"), sender.Options{
		BatchSize: c.BatchSize, Concurrency: c.Concurrency, PollInterval: c.PollInterval,
		Lease: lease, Gate: gate, Observer: m,
	})
	srv := api.New(api.Config{
		Store: store, Enqueue: trigger.New(clock), Waker: snd, Guard: guard, Clock: clock,
		Log: log.With("component", "api"), Observer: m, Metrics: m.Handler(),
		Ready:   func(ctx context.Context) error { _, _, err := store.NextDue(ctx); return err },
		Deliver: client, RateLimitPerHour: c.RateLimitPerHour,
	})

	if l, ok := store.(listener); ok {
		// Other nodes' enqueues wake this node's senders at once.
		go l.Listen(ctx, snd.Wake)
	}
	if l, ok := store.(leader); ok {
		// Schedules must run once: one node runs them, and another takes
		// over within postgres.LeaderInterval when it dies.
		go l.Lead(ctx, srv.RunSchedules)
	} else {
		go srv.RunSchedules(ctx)
	}

	if c.PprofListen != "" {
		if err := servePprof(ctx, c.PprofListen, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.Listen, err)
	}
	c.greet(ctx, store, log, ln.Addr().String())
	return run(ctx, log, snd, &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}, ln)
}

// run serves until ctx is done, then stops taking requests and lets the
// senders finish the attempts under way.
func run(ctx context.Context, log *slog.Logger, snd *sender.Sender, hs *http.Server, ln net.Listener) error {
	sent := make(chan error, 1)
	go func() { sent <- snd.Run(ctx) }()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing attempts under way")
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("closing http server", "err", err)
	}
	return <-sent
}

// greet logs where Hookflow listens and, while no key exists, how to make
// one: the first thing a newcomer needs.
func (c *serveCmd) greet(ctx context.Context, store hookflow.Store, log *slog.Logger, addr string) {
	log.Info("hookflow started", "version", hookflow.Version, "listen", "http://"+addr, "store", c.where())
	keys, err := store.ListKeys(ctx)
	if err != nil || len(keys) > 0 {
		return
	}
	var out io.Writer = os.Stderr
	fmt.Fprintf(out, "\nNo API key yet. Create one (its secret is printed once):\n\n"+
		"    %s keys create %s --name ops --scopes all\n\n"+
		"then send it as 'Authorization: Bearer <secret>'.\n\n", selfName(), c.storeArgs())
}

// selfName is the command as the user typed it (./hookflow, when run from
// the build directory as the README does), so the hint can be pasted; a
// binary by another name, such as go run's, is named hookflow.
func selfName() string {
	if filepath.Base(os.Args[0]) == "hookflow" {
		return os.Args[0]
	}
	return "hookflow"
}
