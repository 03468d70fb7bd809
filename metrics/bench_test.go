package metrics

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAttempt records attempts to one known host, the common case.
func BenchmarkAttempt(b *testing.B) {
	m := New(Sources{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		m.Attempt("a.example", 200, "", 40*time.Millisecond)
	}
}

// BenchmarkAttemptParallel records attempts to 100 hosts from every core,
// as the sender's workers do.
func BenchmarkAttemptParallel(b *testing.B) {
	m := New(Sources{}, nil)
	hosts := make([]string, 100)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("h%d.example", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.Attempt(hosts[i%len(hosts)], 200, "", 40*time.Millisecond)
			i++
		}
	})
}

// BenchmarkAttemptFolded records attempts to hosts past the limit.
func BenchmarkAttemptFolded(b *testing.B) {
	m := newMetrics(Sources{}, nil, 1)
	m.Attempt("first.example", 200, "", time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		m.Attempt("late.example", 0, "timeout", 10*time.Second)
	}
}

// BenchmarkRequest records an API request through Request.
func BenchmarkRequest(b *testing.B) {
	m := New(Sources{}, nil)
	b.ReportAllocs()
	for b.Loop() {
		m.Request("POST /users/track", 201, 2*time.Millisecond)
	}
}
