package main

import (
	"context"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/hostgate"
	"github.com/hookflow/hookflow/metrics"
)

// newMetrics builds the Prometheus metrics, reading the queue from the
// store and the hosts' health from the gate at each scrape.
func newMetrics(store hookflow.Store, gate *hostgate.Gate, clock hookflow.Clock) *metrics.Metrics {
	return metrics.New(metrics.Sources{
		Queue: func(ctx context.Context) (metrics.QueueStats, error) {
			st, err := store.QueueStats(ctx, clock.Now())
			return metrics.QueueStats(st), err
		},
		Hosts: func() []metrics.HostState {
			hosts := gate.Hosts()
			out := make([]metrics.HostState, len(hosts))
			for i, h := range hosts {
				out[i] = metrics.HostState{
					Host: h.Host, State: h.State, Failures: h.Failures, InFlight: h.InFlight, RateLimit: h.RateLimit,
				}
			}
			return out
		},
	}, clock.Now)
}
