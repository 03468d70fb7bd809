package e2e

// The isolation test of issue 3: one receiver answers after 30 s, another
// fails everything, a third is healthy; the healthy receiver's deliveries
// must arrive as fast as when it is alone. Helpers are prefixed "rp".

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/deliver"
	"github.com/hookflow/hookflow/hookflowtest"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/receiver"
)

// Sizes of the isolation test. rpMaxPerHost is `hookflow serve`'s default.
const (
	rpMaxPerHost = 32
	rpWarmUp     = 5
	rpSamples    = 100
	rpPile       = 150
)

// rpLatencies summarises enqueue→arrival latencies.
type rpLatencies struct{ p50, p99, max time.Duration }

func rpSummarise(ls []time.Duration) rpLatencies {
	s := slices.Clone(ls)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return rpLatencies{p50: at(0.50), p99: at(0.99), max: s[len(s)-1]}
}

// rpHealthySends triggers campaign id for one user n times, one at a time,
// each after the previous arrived at rcv, and returns each delivery's
// latency from enqueue (its CreatedAt) to arrival (the receiver's clock;
// both are the wall clock).
func rpHealthySends(t *testing.T, sys *hookflowtest.System, rcv *receiver.Receiver, id string, n int) []time.Duration {
	t.Helper()
	start := rcv.Count()
	for i := range n {
		frTrigger(sys, id, "healthy")
		frWaitCount(t, rcv, start+i+1)
	}
	var ls []time.Duration
	for _, req := range rcv.Requests()[start:] {
		d, _, err := sys.Store.GetDelivery(context.Background(), req.Header.Get("webhook-id"))
		if err != nil {
			t.Fatalf("delivery of a healthy request: %v", err)
		}
		ls = append(ls, req.At.Sub(d.CreatedAt))
	}
	return ls
}

// rpPileOn sends campaign id to the n users p0… in batches of 50, the
// most one API call takes.
func rpPileOn(sys *hookflowtest.System, id string, n int) {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("p%d", i))
	}
	for chunk := range slices.Chunk(ids, 50) {
		frTrigger(sys, id, chunk...)
	}
}

// rpFeed keeps enqueueing deliveries of campaign id, 50 every 200ms, as
// an application keeps producing events for a broken endpoint, until the
// returned func is called; that func returns how many were enqueued.
func rpFeed(sys *hookflowtest.System, id string) func() int {
	var recipients []map[string]any
	for i := range 50 {
		recipients = append(recipients, map[string]any{"external_user_id": fmt.Sprintf("p%d", i)})
	}
	stop, done := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			status, _ := sys.Do("POST", "/campaigns/trigger/send",
				map[string]any{"campaign_id": id, "recipients": recipients})
			if status == http.StatusCreated {
				n += len(recipients)
			}
			select {
			case <-stop:
				done <- n
				return
			case <-tick.C:
			}
		}
	}()
	return func() int {
		close(stop)
		return <-done
	}
}

// rpUsers creates the users p0… of rpPileOn and "healthy", 75 a request.
func rpUsers(sys *hookflowtest.System, n int) {
	attrs := []any{map[string]any{"external_id": "healthy"}}
	for i := range n {
		attrs = append(attrs, map[string]any{"external_id": fmt.Sprintf("p%d", i)})
	}
	for chunk := range slices.Chunk(attrs, 75) {
		sys.Track(map[string]any{"attributes": chunk})
	}
}

// rpTries is how many times the isolation test measures before it fails.
// A real loss of isolation (healthy deliveries queued behind the slow
// host's 30 s answers or the failing host's retries) fails every try; a
// scheduler hiccup on a busy 2-core machine, which other packages' tests
// share, rarely strikes three tries in a row.
const rpTries = 3

func TestIsolationHealthyHostKeepsItsLatencyNextToSlowAndFailingHosts(t *testing.T) {
	for try := 1; ; try++ {
		alone, crowded := rpMeasure(t)
		// The bound is relative with a small absolute slack: one hiccup
		// adds tens of milliseconds to a p99 of a few milliseconds, which
		// 1.5x alone would call a failure.
		bound := max(alone.p99*3/2, alone.p99+50*time.Millisecond)
		if crowded.p99 <= bound {
			return
		}
		if try == rpTries {
			t.Fatalf("healthy p99 with neighbours %s > %s (alone %s), %d tries out of %d",
				crowded.p99, bound, alone.p99, try, rpTries)
		}
		t.Logf("try %d: healthy p99 with neighbours %s > %s (alone %s); measuring again", try, crowded.p99, bound, alone.p99)
	}
}

// rpMeasure runs a Hookflow with a healthy, a slow (30 s) and a failing
// (500) receiver, measures the healthy one's latency alone and then with
// the others loaded, logs both side by side and returns them. It checks
// that the slow host never has more than the per-host limit in flight.
func rpMeasure(t *testing.T) (alone, crowded rpLatencies) {
	healthy := frReceiver(t, receiver.Always(http.StatusOK))
	failing := frReceiver(t, receiver.Always(http.StatusInternalServerError))
	gate := hostgate.New(hookflow.SystemClock{}, hostgate.Options{MaxPerHost: rpMaxPerHost})
	// A 31 s request timeout makes the slow receiver's 30 s answers real
	// waits rather than timeouts. The production retry policy (10 s
	// first backoff) keeps the failing host's retries as sparse as in
	// production; rpFeed supplies its steady load instead.
	policy := deliver.DefaultPolicy()
	sys := hookflowtest.Start(t, hookflowtest.Options{Timeout: 31 * time.Second, Gate: gate, Policy: &policy})
	slow, err := receiver.Start(func(*receiver.Request, int) receiver.Response {
		return receiver.Response{Delay: 30 * time.Second}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Closing cuts the delayed requests, so neither this test nor the
	// senders' shutdown waits 30 s. Registered after Start so that at
	// the latest it runs before the System stops.
	defer slow.Close()
	t.Cleanup(func() { slow.Close() })

	hook := func(rcv *receiver.Receiver) map[string]any {
		return frPairs(rcv.URL()+"/hook", "user", "{{${user_id}}}")
	}
	healthyID := frAPICampaign(sys, "healthy", hook(healthy))
	slowID := frAPICampaign(sys, "slow", hook(slow))
	failingID := frAPICampaign(sys, "failing", hook(failing))
	rpUsers(sys, rpPile)

	rpHealthySends(t, sys, healthy, healthyID, rpWarmUp)
	alone = rpSummarise(rpHealthySends(t, sys, healthy, healthyID, rpSamples))

	rpPileOn(sys, slowID, rpPile)
	rpPileOn(sys, failingID, rpPile)
	frWaitCount(t, slow, rpMaxPerHost)
	frWaitCount(t, failing, rpPile)
	failedBefore := failing.Count()
	stopFeeding := rpFeed(sys, failingID)
	crowded = rpSummarise(rpHealthySends(t, sys, healthy, healthyID, rpSamples))
	fed := stopFeeding()

	inFlight := gate.State(strings.TrimPrefix(slow.URL(), "http://")).InFlight
	t.Logf("healthy receiver, enqueue to arrival, %d deliveries each:\n"+
		"          alone    with neighbours\n"+
		"  p50  %9s  %9s\n  p99  %9s  %9s\n  max  %9s  %9s\n"+
		"meanwhile: slow host %d requests in flight (limit %d), failing host answered %d requests with 500 (%d new deliveries fed to it)",
		rpSamples, alone.p50, crowded.p50, alone.p99, crowded.p99, alone.max, crowded.max,
		slow.Count(), rpMaxPerHost, failing.Count()-failedBefore, fed)

	// The slow receiver has answered nothing yet, so every request it got
	// is still in flight: its count is the most it ever had at once.
	if got := slow.Count(); got != rpMaxPerHost || inFlight != rpMaxPerHost {
		t.Fatalf("slow host: %d requests arrived, gate says %d in flight; want exactly %d (the per-host limit)",
			got, inFlight, rpMaxPerHost)
	}
	// The rest wait in the queue; none was failed for waiting.
	for _, d := range sys.Deliveries(hookflow.DeliveryFilter{CampaignID: slowID, Limit: 1000}) {
		if hookflow.Final(d.State) || d.Attempts != 0 {
			t.Fatalf("slow host delivery %s: %s; want it waiting with no attempt recorded", d.ID, frDescribe(d))
		}
	}
	return alone, crowded
}
