package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hookflow/hookflow"
)

// benchBatch is the batch size senders use: one transaction per 500 rows.
const benchBatch = 500

var benchStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// benchDeliveries returns n deliveries shaped like an action-based send.
func benchDeliveries(offset, n int) []*hookflow.Delivery {
	ds := make([]*hookflow.Delivery, n)
	for i := range ds {
		ds[i] = &hookflow.Delivery{
			Origin:     hookflow.OriginCampaign,
			CampaignID: "campaign-1",
			DispatchID: "dispatch-1",
			UserID:     fmt.Sprintf("%024x", offset+i),
			ExternalID: fmt.Sprintf("user-%d", offset+i),
			Payload: hookflow.Payload{Event: &hookflow.EventPayload{
				Name: "order_placed", Time: benchStart,
				Properties: map[string]any{"order_id": "A-1001", "total": 42.5},
			}},
			DueAt:     benchStart,
			CreatedAt: benchStart,
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

// BenchmarkEnqueue measures inserting deliveries in batches of 500, one
// transaction and one statement a batch.
func BenchmarkEnqueue(b *testing.B) {
	s := openStore(b, schemaURL(b))
	b.ResetTimer()
	benchEnqueue(b, s, b.N)
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkClaimComplete measures claiming and completing deliveries in
// batches of 500: one Claim statement and one Complete transaction (two
// statements) a batch.
func BenchmarkClaimComplete(b *testing.B) {
	benchSend(b, false)
}

// BenchmarkClaimRenderComplete adds the SaveRendered write each first
// attempt makes, with a 200-byte body: the full write path of a send.
func BenchmarkClaimRenderComplete(b *testing.B) {
	benchSend(b, true)
}

func benchSend(b *testing.B, render bool) {
	ctx := context.Background()
	s := openStore(b, schemaURL(b))
	benchEnqueue(b, s, b.N)
	body := []byte(fmt.Sprintf(`{"order_id":"A-1001","note":%q}`, make([]byte, 160)))
	now := benchStart.Add(time.Second)

	b.ResetTimer()
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
