package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// benchBatch is the batch size senders use: one transaction per 500 rows.
const benchBatch = 500

var benchStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// startCPU resets b's timer and returns a func that reports the process's CPU
// time per op since then. The machine is shared, so wall time per op moves
// with other work; CPU time per op much less.
func startCPU(b *testing.B) func() {
	b.Helper()
	before := cpuTime(b)
	b.ResetTimer()
	return func() {
		b.ReportMetric(float64((cpuTime(b)-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// benchDeliveries returns n deliveries shaped like an action-based send of
// an always re-eligible campaign without exception events: each of its own event (a dispatch id of
// its own) to a user picked at random from 10,000, as the bench's e2e
// scenario makes them. Sequential users and one dispatch id hid what
// random keys cost the indexes.
func benchDeliveries(offset, n int) []*hookflow.Delivery {
	ds := make([]*hookflow.Delivery, n)
	for i := range ds {
		user := (offset + i) * 7919 % 10000
		ds[i] = &hookflow.Delivery{
			Origin:     hookflow.OriginCampaign,
			CampaignID: "campaign-1",
			DispatchID: hookflow.NewDispatchID(),
			UserID:     fmt.Sprintf("%024x", user),
			ExternalID: fmt.Sprintf("user-%d", user),
			Payload: hookflow.Payload{Event: &hookflow.EventPayload{
				Name: "order_placed", Time: benchStart,
				Properties: map[string]any{"order_id": "A-1001", "total": 42.5},
			}},
			DueAt:     benchStart,
			CreatedAt: benchStart,
			Untracked: true,
		}
	}
	return ds
}

func benchEnqueue(b *testing.B, s hookflow.Store, batches int) {
	b.Helper()
	for i := range batches {
		ds := benchDeliveries(i*benchBatch, benchBatch)
		err := s.Update(context.Background(), func(tx hookflow.Tx) error { return tx.Enqueue(ds) })
		if err != nil {
			b.Fatalf("Enqueue: %v", err)
		}
	}
}

// BenchmarkEnqueue measures inserting deliveries in batches of 500.
func BenchmarkEnqueue(b *testing.B) {
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	defer startCPU(b)()
	benchEnqueue(b, s, b.N)
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkClaimComplete measures claiming and completing deliveries in
// batches of 500: one Claim statement and one Complete transaction a batch.
func BenchmarkClaimComplete(b *testing.B) {
	benchSend(b, false)
}

// BenchmarkClaimRenderComplete adds the SaveRendered write each first
// attempt makes, with a 200-byte body: the full write path of a send.
func BenchmarkClaimRenderComplete(b *testing.B) {
	benchSend(b, true)
}

// BenchmarkSaveAndClaim is the write path of a sender's steady stream:
// one transaction a batch that records the outcomes of the batch sent
// before, stores this batch's renders and claims the next batch
// (SaveAndClaim). Compare with BenchmarkClaimRenderComplete, which writes
// the same rows in three transactions a batch.
func BenchmarkSaveAndClaim(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	benchEnqueue(b, s, b.N+1)
	body := []byte(fmt.Sprintf(`{"order_id":"A-1001","note":%q}`, make([]byte, 160)))
	now := benchStart.Add(time.Second)

	held, err := s.Claim(ctx, now, benchBatch, time.Minute)
	if err != nil || len(held) != benchBatch {
		b.Fatalf("Claim: %d rows, %v", len(held), err)
	}
	var sent []hookflow.Completion
	defer startCPU(b)()
	for i := range b.N {
		var w hookflow.QueueWrite
		w, sent = sendWrite(held, sent, body, now)
		limit := benchBatch
		if i == b.N-1 {
			limit = 0
		}
		held, err = s.SaveAndClaim(ctx, now, w, limit, time.Minute)
		if err != nil || len(held) != limit {
			b.Fatalf("SaveAndClaim: %d rows, %v", len(held), err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "deliveries/s")
}

func benchSend(b *testing.B, render bool) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	benchEnqueue(b, s, b.N)
	body := []byte(fmt.Sprintf(`{"order_id":"A-1001","note":%q}`, make([]byte, 160)))
	now := benchStart.Add(time.Second)

	defer startCPU(b)()
	for range b.N {
		ds, err := s.Claim(ctx, now, benchBatch, time.Minute)
		if err != nil || len(ds) != benchBatch {
			b.Fatalf("Claim: %d rows, %v", len(ds), err)
		}
		if render {
			rs := make([]hookflow.RenderResult, len(ds))
			for i, d := range ds {
				rs[i] = hookflow.RenderResult{DeliveryID: d.ID, Request: &hookflow.Request{
					Method: "POST", URL: "https://example.com/hook",
					Headers: []hookflow.Header{{Name: "Content-Type", Value: "application/json"}},
					Body:    body,
				}}
			}
			if err := s.SaveRendered(ctx, now, rs); err != nil {
				b.Fatalf("SaveRendered: %v", err)
			}
		}
		cs := make([]hookflow.Completion, len(ds))
		for i, d := range ds {
			cs[i] = hookflow.Completion{State: hookflow.StateDelivered, Attempt: hookflow.Attempt{
				DeliveryID: d.ID, Number: 1, StartedAt: now, Duration: time.Millisecond,
				Status: 200, ResponseBody: []byte(`{"ok":true}`),
			}}
		}
		if err := s.Complete(ctx, now, cs); err != nil {
			b.Fatalf("Complete: %v", err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "deliveries/s")
}

// intakeEvents is how many events one /users/track call of the bench carries.
const intakeEvents = 75

// BenchmarkIntake measures the store's share of one /users/track call: in one
// Update, for each of 75 events, find the user by external ID, store the
// event, and look up the campaigns it triggers and the ones it excepts.
func BenchmarkIntake(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	const users = 1000
	insertBenchUsers(b, s, users, nil)

	defer startCPU(b)()
	for n := range b.N {
		err := s.Update(ctx, func(tx hookflow.Tx) error {
			return intakeCall(tx, n*intakeEvents%users)
		})
		if err != nil {
			b.Fatalf("Update: %v", err)
		}
	}
	b.ReportMetric(float64(b.N*intakeEvents)/b.Elapsed().Seconds(), "events/s")
}

// intakeCall does the store work of one call of intakeEvents events for the
// users numbered from first.
func intakeCall(tx hookflow.Tx, first int) error {
	for i := range intakeEvents {
		u, err := tx.FindUser(hookflow.UserRef{ExternalID: fmt.Sprintf("user-%d", (first+i)%1000)})
		if err != nil {
			return fmt.Errorf("FindUser: %w", err)
		}
		ev := &hookflow.Event{UserID: u.ID, Name: "order_placed", Time: benchStart,
			Properties: map[string]any{"order_id": "A-1001"}, ReceivedAt: benchStart}
		if err := tx.InsertEvents([]*hookflow.Event{ev}); err != nil {
			return fmt.Errorf("InsertEvents: %w", err)
		}
		if _, err := tx.TriggeredCampaigns(ev); err != nil {
			return fmt.Errorf("TriggeredCampaigns: %w", err)
		}
		if _, err := tx.ExceptionCampaigns(ev.Name); err != nil {
			return fmt.Errorf("ExceptionCampaigns: %w", err)
		}
	}
	return nil
}

// BenchmarkClaimSmall claims and completes batches of 9 to 12 deliveries,
// as a sender does at a modest rate, where the limit it asks for follows
// its free slots. Per-claim costs dominate here: a Claim statement that
// SQLite prepared again for every new limit value showed up as a third of
// the sender's CPU in the server's profile.
func BenchmarkClaimSmall(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	now := benchStart.Add(time.Second)

	defer startCPU(b)()
	for i := range b.N {
		limit := 9 + i%4
		ds := benchDeliveries(i*12, limit)
		if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue(ds) }); err != nil {
			b.Fatalf("Enqueue: %v", err)
		}
		got, err := s.Claim(ctx, now, limit, time.Minute)
		if err != nil || len(got) != limit {
			b.Fatalf("Claim: %d rows, %v", len(got), err)
		}
		cs := make([]hookflow.Completion, len(got))
		for j, d := range got {
			cs[j] = hookflow.Completion{State: hookflow.StateDelivered, Attempt: hookflow.Attempt{
				DeliveryID: d.ID, Number: 1, StartedAt: now, Duration: time.Millisecond, Status: 200}}
		}
		if err := s.Complete(ctx, now, cs); err != nil {
			b.Fatalf("Complete: %v", err)
		}
	}
}

// BenchmarkIntakeGroup measures the writer's share of /users/track as the
// bench's intake scenario drives it: 16 clients at once, so that calls share
// group commits, each call finding 75 users picked at random from 10,000 in
// one query and storing their events in one insert. Run it long enough for
// the events table to outgrow a commit's worth of pages, as a server's
// does: -benchtime 3000x stores 225,000 events.
func BenchmarkIntakeGroup(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	const users, clients = 10000, 16
	err := s.Update(ctx, func(tx hookflow.Tx) error {
		for i := range users {
			u := &hookflow.User{ID: fmt.Sprintf("%024x", i), ExternalID: fmt.Sprintf("user-%d", i),
				CreatedAt: benchStart, UpdatedAt: benchStart}
			if err := tx.InsertUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("InsertUser: %v", err)
	}

	calls := make(chan int)
	errs := make(chan error, clients)
	defer startCPU(b)()
	for range clients {
		go func() {
			var err error
			for n := range calls {
				if err == nil {
					err = s.Update(ctx, func(tx hookflow.Tx) error { return intakeBatch(tx, n, users) })
				}
			}
			errs <- err
		}()
	}
	for n := range b.N {
		calls <- n
	}
	close(calls)
	for range clients {
		if err := <-errs; err != nil {
			b.Fatalf("Update: %v", err)
		}
	}
	b.ReportMetric(float64(b.N*intakeEvents)/b.Elapsed().Seconds(), "events/s")
}

// intakeBatch does the store work of call n of the bench's intake: it finds
// intakeEvents users, picked pseudo-randomly from users, and stores an event
// for each.
func intakeBatch(tx hookflow.Tx, n, users int) error {
	ids := make([]string, intakeEvents)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%d", (n*intakeEvents+i)*7919%users)
	}
	found, err := tx.FindUsersByExternalID(ids)
	if err != nil {
		return fmt.Errorf("FindUsersByExternalID: %w", err)
	}
	evs := make([]*hookflow.Event, len(ids))
	for i, id := range ids {
		evs[i] = &hookflow.Event{ID: fmt.Sprintf("%08d-%04d", n, i), UserID: found[id].ID,
			Name: "bench", Time: benchStart.Add(time.Duration(n) * time.Millisecond),
			Properties: map[string]any{"b": fmt.Sprint(n), "i": int64(i), "plan": "gold"},
			ReceivedAt: benchStart}
	}
	if err := tx.InsertEvents(evs); err != nil {
		return fmt.Errorf("InsertEvents: %w", err)
	}
	return nil
}

// BenchmarkEnqueueAndSend is the store's whole share of a delivery at full
// speed: each op enqueues a batch due now, then records the outcomes and
// renders of the batch before and claims this one (SaveAndClaim). With
// the hand-off (hookflow.HandOffer) the claim takes the batch from memory
// instead of the table.
func BenchmarkEnqueueAndSend(b *testing.B) {
	for _, handOff := range []bool{false, true} {
		name := "table"
		if handOff {
			name = "handoff"
		}
		b.Run(name, func(b *testing.B) { benchEnqueueAndSend(b, handOff) })
	}
}

func benchEnqueueAndSend(b *testing.B, handOff bool) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	if handOff {
		stop := s.HandOff(time.Minute, 4*benchBatch)
		defer func() { _ = stop(ctx) }()
	}
	body := []byte(fmt.Sprintf(`{"order_id":"A-1001","note":%q}`, make([]byte, 160)))
	var held []*hookflow.Delivery
	var sent []hookflow.Completion
	defer startCPU(b)()
	for i := range b.N {
		ds := benchDeliveries(i*benchBatch, benchBatch)
		now := time.Now()
		for _, d := range ds {
			d.DueAt, d.CreatedAt = now, now
		}
		if err := s.Update(ctx, func(tx hookflow.Tx) error { return tx.Enqueue(ds) }); err != nil {
			b.Fatalf("Enqueue: %v", err)
		}
		var w hookflow.QueueWrite
		w, sent = sendWrite(held, sent, body, now)
		var err error
		held, err = s.SaveAndClaim(ctx, now, w, benchBatch, time.Minute)
		if err != nil || len(held) != benchBatch {
			b.Fatalf("SaveAndClaim: %d rows, %v", len(held), err)
		}
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "deliveries/s")
}

// sendWrite is what a sender writes with its next claim: the renders of
// held, just claimed, with body, and the outcomes of sent, the batch before;
// it also returns the outcomes of held, for the write after.
func sendWrite(held []*hookflow.Delivery, sent []hookflow.Completion, body []byte, now time.Time) (hookflow.QueueWrite, []hookflow.Completion) {
	w := hookflow.QueueWrite{Completions: sent, Rendered: make([]hookflow.RenderResult, len(held))}
	next := make([]hookflow.Completion, len(held))
	for j, d := range held {
		w.Rendered[j] = hookflow.RenderResult{DeliveryID: d.ID, Request: &hookflow.Request{
			Method: "POST", URL: "https://example.com/hook",
			Headers: []hookflow.Header{{Name: "Content-Type", Value: "application/json"}},
			Body:    body,
		}}
		next[j] = hookflow.Completion{State: hookflow.StateDelivered, Attempt: hookflow.Attempt{
			DeliveryID: d.ID, Number: 1, StartedAt: now, Duration: time.Millisecond,
			Status: 200, ResponseBody: []byte(`{"ok":true}`),
		}}
	}
	return w, next
}

// BenchmarkGetUsers is the sender's read before it renders a batch: the
// profiles of 256 users picked at random from 10,000, as the bench's e2e
// scenario's deliveries name them.
func BenchmarkGetUsers(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, filepath.Join(b.TempDir(), "bench.db"))
	const users = 10000
	ids := insertBenchUsers(b, s, users, map[string]any{"first_name": "Ann", "plan": "gold", "visits": int64(7)})
	batch := make([]string, 256)
	defer startCPU(b)()
	for n := range b.N {
		for i := range batch {
			batch[i] = ids[(n*256+i)*7919%users]
		}
		got, err := s.GetUsers(ctx, batch)
		if err != nil || len(got) == 0 {
			b.Fatalf("GetUsers: %d, %v", len(got), err)
		}
	}
}

// insertBenchUsers stores n users, user-0 to user-(n-1), with attrs, and
// returns their braze ids.
func insertBenchUsers(b *testing.B, s hookflow.Store, n int, attrs map[string]any) []string {
	b.Helper()
	ids := make([]string, n)
	err := s.Update(context.Background(), func(tx hookflow.Tx) error {
		for i := range ids {
			ids[i] = fmt.Sprintf("%024x", i)
			u := &hookflow.User{ID: ids[i], ExternalID: fmt.Sprintf("user-%d", i), Attributes: attrs,
				CreatedAt: benchStart, UpdatedAt: benchStart}
			if err := tx.InsertUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("InsertUser: %v", err)
	}
	return ids
}
