package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

func testEnqueueClaimLease(t *testing.T, s hookflow.Store) {
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", at(-2*time.Minute)),
		delivery(deliveryID(2), "c1", "u2", at(-time.Minute)),
		delivery(deliveryID(3), "c1", "u3", at(time.Minute)),
	)
	const lease = 30 * time.Second

	got := claim(t, s, t0, 10, lease)
	equal(t, "first claim", deliveryIDs(got), []string{deliveryID(1), deliveryID(2)})
	for _, d := range got {
		if d.State != hookflow.StateSending {
			t.Errorf("claimed %s state = %s, want sending", d.ID, d.State)
		}
		sameTime(t, "claimed LeaseUntil", d.LeaseUntil, at(lease))
	}

	// Leases held, the third not yet due: nothing to claim.
	got = claim(t, s, at(lease-time.Microsecond), 10, lease)
	equal(t, "claim under lease", deliveryIDs(got), []string{})

	// The leases expire (their sender died): both are claimable again.
	got = claim(t, s, at(lease), 10, lease)
	equal(t, "claim after lease expiry", deliveryIDs(got), []string{deliveryID(1), deliveryID(2)})
	for _, d := range got {
		sameTime(t, "reclaimed LeaseUntil", d.LeaseUntil, at(2*lease))
	}

	got = claim(t, s, at(time.Minute), 10, time.Hour)
	equal(t, "claim when the third is due", deliveryIDs(got),
		[]string{deliveryID(1), deliveryID(2), deliveryID(3)})

	d, _ := getDelivery(t, s, deliveryID(3))
	if d.State != hookflow.StateSending {
		t.Errorf("stored state = %s, want sending", d.State)
	}
	sameTime(t, "stored LeaseUntil", d.LeaseUntil, at(time.Minute+time.Hour))
}

func testClaimLimitAndOrder(t *testing.T, s hookflow.Store) {
	// IDs ascend while due times descend, so ID order would be wrong.
	var ds []*hookflow.Delivery
	for i := range 10 {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", at(-time.Duration(i)*time.Second)))
	}
	enqueue(t, s, ds...)

	got := claim(t, s, t0, 3, time.Minute)
	equal(t, "oldest due first", deliveryIDs(got),
		[]string{deliveryID(9), deliveryID(8), deliveryID(7)})

	got = claim(t, s, t0, 100, time.Minute)
	if len(got) != 7 {
		t.Errorf("second claim got %d, want the remaining 7", len(got))
	}
	if got := claim(t, s, t0, 0, time.Minute); len(got) != 0 {
		t.Errorf("claim with limit 0 got %d", len(got))
	}
}

func testDeliveryRoundTrip(t *testing.T, s hookflow.Store) {
	want := delivery(deliveryID(1), "c1", "u1", at(-time.Second))
	want.SendID = "send-1"
	want.Payload = hookflow.Payload{
		Event: &hookflow.EventPayload{Name: "signup", Time: at(-time.Minute),
			Properties: map[string]any{"level": int64(3), "score": 0.5, "tags": []any{"x"}}},
		TriggerProperties: map[string]any{"coupon": "ABC"},
	}
	api := delivery(deliveryID(2), "", "u2", at(-time.Second))
	api.Origin, api.DispatchID = hookflow.OriginAPIMessage, "disp-9"
	enqueue(t, s, want, api)

	got, _ := getDelivery(t, s, want.ID)
	equal(t, "enqueued delivery", got, want)
	got, _ = getDelivery(t, s, api.ID)
	equal(t, "enqueued api delivery", got, api)

	claimed := claim(t, s, t0, 10, time.Minute)
	if len(claimed) != 2 {
		t.Fatalf("claimed %d, want 2", len(claimed))
	}
	w := *want
	w.State, w.LeaseUntil, w.UpdatedAt = hookflow.StateSending, at(time.Minute), t0
	equal(t, "claimed delivery", claimed[0], &w)

	if _, _, err := s.GetDelivery(context.Background(), "nope"); !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("GetDelivery(unknown) error = %v, want ErrNotFound", err)
	}
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		return tx.Enqueue([]*hookflow.Delivery{delivery(deliveryID(1), "c1", "u1", t0)})
	})
	if !errors.Is(err, hookflow.ErrConflict) {
		t.Errorf("Enqueue(duplicate id) error = %v, want ErrConflict", err)
	}
}

func testConcurrentClaimers(t *testing.T, s hookflow.Store) {
	const rows, claimers, batch = 2000, 4, 50
	var ds []*hookflow.Delivery
	for i := range rows {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", at(-time.Duration(i)*time.Millisecond)))
	}
	enqueue(t, s, ds...)

	// The lease outlives the test's "now", so a delivery claimed twice is
	// a bug, not an expired lease.
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.Claim(context.Background(), t0, batch, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					counts[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Claim: %v", err)
	}

	if len(counts) != rows {
		t.Errorf("claimed %d distinct deliveries, want %d", len(counts), rows)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times, want 1", id, n)
		}
	}
}

func testSaveRendered(t *testing.T, s hookflow.Store) {
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", t0),
		delivery(deliveryID(2), "c1", "u2", t0),
		delivery(deliveryID(3), "c1", "u3", t0),
	)
	claim(t, s, t0, 10, time.Minute)

	req := &hookflow.Request{Method: "PUT", URL: "https://example.com/u/1",
		Headers: []hookflow.Header{{Name: "Content-Type", Value: "application/json"}},
		Body:    []byte(`{"a":1}`)}
	err := s.SaveRendered(context.Background(), at(time.Second), []hookflow.RenderResult{
		{DeliveryID: deliveryID(1), Request: req},
		{DeliveryID: deliveryID(2), AbortReason: "not a customer"},
		{DeliveryID: deliveryID(3), Error: "liquid: unknown tag"},
	})
	if err != nil {
		t.Fatalf("SaveRendered: %v", err)
	}

	d, _ := getDelivery(t, s, deliveryID(1))
	equal(t, "rendered state", d.State, hookflow.StateSending)
	equal(t, "rendered request", d.Request, req)
	sameTime(t, "rendered UpdatedAt (the claim's)", d.UpdatedAt, t0)

	d, _ = getDelivery(t, s, deliveryID(2))
	equal(t, "aborted state", d.State, hookflow.StateAborted)
	equal(t, "abort reason", d.AbortReason, "not a customer")
	sameTime(t, "aborted UpdatedAt", d.UpdatedAt, at(time.Second))
	if d.Request != nil {
		t.Errorf("aborted delivery has request %+v", d.Request)
	}

	d, _ = getDelivery(t, s, deliveryID(3))
	equal(t, "render error state", d.State, hookflow.StateFailed)
	equal(t, "render error", d.LastError, "liquid: unknown tag")

	// Final deliveries are not claimable again, even after the lease.
	got := claim(t, s, at(time.Hour), 10, time.Minute)
	equal(t, "claim after render", deliveryIDs(got), []string{deliveryID(1)})

	// An unknown delivery refuses the whole batch.
	err = s.SaveRendered(context.Background(), at(time.Hour), []hookflow.RenderResult{
		{DeliveryID: deliveryID(1), AbortReason: "late"},
		{DeliveryID: "nope", AbortReason: "late"},
	})
	if !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("SaveRendered(unknown) error = %v, want ErrNotFound", err)
	}
	d, _ = getDelivery(t, s, deliveryID(1))
	equal(t, "batch-mate state after refused batch", d.State, hookflow.StateSending)
}

// testLargeBatches runs the queue's batched writes with batches of the size
// senders use, larger than any one statement a backend might build.
func testLargeBatches(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	const n = 500
	var ds []*hookflow.Delivery
	for i := range n {
		ds = append(ds, delivery(deliveryID(i), "c1", "u1", at(time.Duration(i)*time.Microsecond)))
	}
	enqueue(t, s, ds...)
	claimed := claim(t, s, at(time.Second), n, time.Minute)
	if len(claimed) != n {
		t.Fatalf("claimed %d, want %d", len(claimed), n)
	}

	// Deliveries by i%3: 0 rendered then delivered, 1 rendered then retried,
	// 2 aborted.
	var rs []hookflow.RenderResult
	var cs []hookflow.Completion
	for i, d := range claimed {
		if d.ID != deliveryID(i) {
			t.Fatalf("claimed[%d] = %s, want %s", i, d.ID, deliveryID(i))
		}
		switch i % 3 {
		case 0, 1:
			body := []byte(fmt.Sprintf(`{"i":%d}`, i))
			rs = append(rs, hookflow.RenderResult{DeliveryID: d.ID,
				Request: &hookflow.Request{Method: "POST", URL: "https://x.test/", Body: body}})
			state, status, due := hookflow.StateDelivered, 200, time.Time{}
			if i%3 == 1 {
				state, status, due = hookflow.StatePending, 503, at(time.Hour)
			}
			cs = append(cs, completion(d.ID, 1, status, state, due, at(time.Second)))
		case 2:
			rs = append(rs, hookflow.RenderResult{DeliveryID: d.ID, AbortReason: fmt.Sprint(i)})
		}
	}
	if err := s.SaveRendered(ctx, at(time.Second), rs); err != nil {
		t.Fatalf("SaveRendered: %v", err)
	}
	if err := s.Complete(ctx, at(2*time.Second), cs); err != nil {
		t.Fatalf("Complete: %v", err)
	}

	for i := range n {
		d, as := getDelivery(t, s, deliveryID(i))
		want := []string{hookflow.StateDelivered, hookflow.StatePending, hookflow.StateAborted}[i%3]
		if d.State != want {
			t.Fatalf("%s state = %s, want %s", d.ID, d.State, want)
		}
		switch i % 3 {
		case 0, 1:
			if d.Request == nil || string(d.Request.Body) != fmt.Sprintf(`{"i":%d}`, i) || len(as) != 1 {
				t.Fatalf("%s request %+v with %d attempts, want its body and 1", d.ID, d.Request, len(as))
			}
		case 2:
			if d.AbortReason != fmt.Sprint(i) || d.Request != nil || len(as) != 0 {
				t.Fatalf("%s abort %q request %+v attempts %d", d.ID, d.AbortReason, d.Request, len(as))
			}
		}
	}
}

func testRequestBytesExact(t *testing.T, s hookflow.Store) {
	bodies := [][]byte{
		[]byte(`{"note":"a&b<c>",  "k":1}`),
		{0xff, 0x00, 0xfe, 'a', '\n', 0x80},
		[]byte("line1\r\nline2\u2028"),
	}
	headers := []hookflow.Header{
		{Name: "X-Dup", Value: "1"}, {Name: "Content-Type", Value: "text/plain"},
		{Name: "X-Dup", Value: "<&>"},
	}
	for i, body := range bodies {
		// One delivery stored rendered at enqueue, one rendered later.
		pre := delivery(deliveryID(2*i), "c1", "u1", t0)
		pre.Request = &hookflow.Request{Method: "POST", URL: "https://x.test/?a=1&b=2",
			Headers: headers, Body: body}
		enqueue(t, s, pre, delivery(deliveryID(2*i+1), "c1", "u1", t0))
	}
	claim(t, s, t0, 100, time.Minute)
	var results []hookflow.RenderResult
	for i, body := range bodies {
		results = append(results, hookflow.RenderResult{DeliveryID: deliveryID(2*i + 1),
			Request: &hookflow.Request{Method: "POST", URL: "https://x.test/", Headers: headers, Body: body}})
	}
	if err := s.SaveRendered(context.Background(), t0, results); err != nil {
		t.Fatalf("SaveRendered: %v", err)
	}

	claimed := claim(t, s, at(time.Minute), 100, time.Minute)
	byID := map[string]*hookflow.Delivery{}
	for _, d := range claimed {
		byID[d.ID] = d
	}
	for i, body := range bodies {
		for _, id := range []string{deliveryID(2 * i), deliveryID(2*i + 1)} {
			d, _ := getDelivery(t, s, id)
			if d.Request == nil || string(d.Request.Body) != string(body) {
				t.Errorf("%s stored body = %q, want %q", id, d.Request, body)
				continue
			}
			equal(t, id+" headers", d.Request.Headers, headers)
			equal(t, id+" HTTPHeader X-Dup", d.Request.HTTPHeader()["X-Dup"], []string{"1", "<&>"})
			if c := byID[id]; c == nil || c.Request == nil || string(c.Request.Body) != string(body) {
				t.Errorf("%s claimed body differs from %q", id, body)
			}
		}
	}
}

// completion returns the outcome of attempt number of delivery id.
func completion(id string, number, status int, state string, due, start time.Time) hookflow.Completion {
	return hookflow.Completion{
		Attempt: hookflow.Attempt{DeliveryID: id, Number: number, StartedAt: start,
			Duration: 1500 * time.Microsecond, Status: status},
		State: state,
		DueAt: due,
	}
}

func testComplete(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s,
		delivery(deliveryID(1), "c1", "u1", t0),
		delivery(deliveryID(2), "c1", "u2", t0),
		delivery(deliveryID(3), "c1", "u3", t0),
	)
	claim(t, s, t0, 10, time.Minute)

	retry := completion(deliveryID(1), 1, 503, hookflow.StatePending, at(5*time.Minute), at(time.Second))
	retry.Attempt.Error = "status 503"
	retry.Attempt.ErrorKind = "status"
	retry.Attempt.ResponseHeaders = http.Header{"Retry-After": {"300"}, "X-Multi": {"a", "b"}}
	retry.Attempt.ResponseBody = []byte("busy \xff")
	retry.Attempt.Truncated = true
	failed := completion(deliveryID(3), 1, 403, hookflow.StateFailed, time.Time{}, at(time.Second))
	failed.Attempt.Error = "status 403"
	err := s.Complete(ctx, at(2*time.Second), []hookflow.Completion{
		retry,
		completion(deliveryID(2), 1, 200, hookflow.StateDelivered, time.Time{}, at(time.Second)),
		failed,
	})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}

	cases := []struct {
		id, state, lastError string
		status               int
		due                  time.Time
	}{
		{deliveryID(1), hookflow.StatePending, "status 503", 503, at(5 * time.Minute)},
		{deliveryID(2), hookflow.StateDelivered, "", 200, t0},
		{deliveryID(3), hookflow.StateFailed, "status 403", 403, t0},
	}
	for _, tc := range cases {
		d, as := getDelivery(t, s, tc.id)
		equal(t, tc.id+" state", d.State, tc.state)
		equal(t, tc.id+" attempts", d.Attempts, 1)
		equal(t, tc.id+" last status", d.LastStatus, tc.status)
		equal(t, tc.id+" last error", d.LastError, tc.lastError)
		sameTime(t, tc.id+" DueAt", d.DueAt, tc.due)
		sameTime(t, tc.id+" LeaseUntil", d.LeaseUntil, time.Time{})
		sameTime(t, tc.id+" FirstAttemptAt", d.FirstAttemptAt, at(time.Second))
		sameTime(t, tc.id+" UpdatedAt", d.UpdatedAt, at(2*time.Second))
		if len(as) != 1 {
			t.Errorf("%s has %d attempts, want 1", tc.id, len(as))
		}
	}

	// Not due before its retry time; then the second attempt delivers.
	equal(t, "claim before retry", deliveryIDs(claim(t, s, at(4*time.Minute), 10, time.Minute)), []string{})
	equal(t, "claim at retry", deliveryIDs(claim(t, s, at(5*time.Minute), 10, time.Minute)),
		[]string{deliveryID(1)})
	second := completion(deliveryID(1), 2, 200, hookflow.StateDelivered, time.Time{}, at(5*time.Minute))
	if err := s.Complete(ctx, at(6*time.Minute), []hookflow.Completion{second}); err != nil {
		t.Fatalf("Complete: %v", err)
	}

	d, as := getDelivery(t, s, deliveryID(1))
	equal(t, "after retry state", d.State, hookflow.StateDelivered)
	equal(t, "after retry attempts", d.Attempts, 2)
	equal(t, "after retry last error", d.LastError, "")
	sameTime(t, "FirstAttemptAt keeps the first", d.FirstAttemptAt, at(time.Second))
	equal(t, "attempt list", as, []hookflow.Attempt{retry.Attempt, second.Attempt})
}

func testCompleteDuplicateAttempt(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	enqueue(t, s, delivery(deliveryID(1), "c1", "u1", t0), delivery(deliveryID(2), "c1", "u1", t0))
	claim(t, s, t0, 10, time.Minute)
	first := completion(deliveryID(1), 1, 500, hookflow.StatePending, at(time.Minute), t0)
	if err := s.Complete(ctx, t0, []hookflow.Completion{first}); err != nil {
		t.Fatalf("Complete: %v", err)
	}

	// A second sender that lost its lease reports attempt 1 again, batched
	// with another delivery's completion: the whole batch is refused.
	err := s.Complete(ctx, t0, []hookflow.Completion{
		completion(deliveryID(2), 1, 200, hookflow.StateDelivered, time.Time{}, t0),
		completion(deliveryID(1), 1, 200, hookflow.StateDelivered, time.Time{}, t0),
	})
	if !errors.Is(err, hookflow.ErrConflict) {
		t.Fatalf("Complete(duplicate attempt) error = %v, want ErrConflict", err)
	}
	d, _ := getDelivery(t, s, deliveryID(2))
	equal(t, "batch-mate state after refused batch", d.State, hookflow.StateSending)

	err = s.Complete(ctx, t0, []hookflow.Completion{
		completion("nope", 1, 200, hookflow.StateDelivered, time.Time{}, t0),
	})
	if !errors.Is(err, hookflow.ErrNotFound) {
		t.Errorf("Complete(unknown) error = %v, want ErrNotFound", err)
	}
}

func testNextDue(t *testing.T, s hookflow.Store) {
	ctx := context.Background()
	check := func(name string, want time.Time, wantOK bool) {
		t.Helper()
		got, ok, err := s.NextDue(ctx)
		if err != nil {
			t.Fatalf("NextDue: %v", err)
		}
		if ok != wantOK || !got.Equal(want) {
			t.Errorf("%s: NextDue = %v %v, want %v %v", name, got, ok, want, wantOK)
		}
	}
	check("empty", time.Time{}, false)

	enqueue(t, s, delivery(deliveryID(1), "c1", "u1", at(10*time.Minute)),
		delivery(deliveryID(2), "c1", "u1", at(20*time.Minute)))
	check("pending", at(10*time.Minute), true)

	claim(t, s, at(10*time.Minute), 1, 5*time.Minute)
	check("a lease expires before the next due", at(15*time.Minute), true)

	done := completion(deliveryID(1), 1, 200, hookflow.StateDelivered, time.Time{}, at(10*time.Minute))
	if err := s.Complete(ctx, at(11*time.Minute), []hookflow.Completion{done}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	check("after completion", at(20*time.Minute), true)
}
