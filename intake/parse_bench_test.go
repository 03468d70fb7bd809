package intake_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/intake"
)

// trackBody is a /users/track body of n events shaped like the bench's
// intake scenario: an external id, a name, a time and three properties.
func trackBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"events":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"external_id":"u%d","name":"bench_intake","time":"2026-12-01T10:00:00Z",`+
			`"properties":{"b":"call-%d","i":%d,"plan":"gold"}}`, i*131%10000, n, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkParse parses a body of 75 events, the most one request may carry.
func BenchmarkParse(b *testing.B) {
	body := trackBody(intake.MaxObjects)
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		batch, err := intake.Parse(body, at)
		if err != nil || len(batch.Events) != intake.MaxObjects {
			b.Fatalf("Parse: %d events, %v", len(batch.Events), err)
		}
	}
}
