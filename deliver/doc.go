// Package deliver makes the HTTP attempts of rendered webhooks and decides
// what each outcome means: delivered, retry later, or failed.
//
// A Client sends one attempt at a time (Send): the stored body bytes
// exactly, the delivery id in webhook-id on every attempt, and when a
// signer is given a Standard Webhooks signature made afresh for each
// attempt. One deadline covers the whole exchange including the response
// body, of which only a capped prefix is read. Redirects are never
// followed. Every outcome, failures included, comes back as a
// hookflow.Attempt with an ErrorKind (see the Kind constants).
//
// Classify, ParseRetryAfter and Policy are pure: they read an Attempt and
// the times they are given, never the clock, and persist nothing.
//
// # Retry schedule
//
// After a retryable failure of attempt n the next attempt waits
// min(Base·2^(n-1), Max), spread by ±Jitter, unless the receiver sent a
// Retry-After with a retryable status (408, 429, 5xx): then exactly that
// long, at most RetryAfterCap. Retries stop at Window after the first
// attempt, with one last attempt at the window's very end. With
// DefaultPolicy (Base 10s, Max 1h, Window 24h, ±20%) and instant failures
// the nominal schedule, before jitter, is 33 attempts:
//
//	attempt  starts after the first
//	      1  0s
//	      2  10s
//	      3  30s
//	      4  1m10s
//	      5  2m30s
//	      6  5m10s
//	      7  10m30s
//	      8  21m10s
//	      9  42m30s
//	     10  1h25m10s
//	     11  2h25m10s
//	 12..32  one hour apart: 3h25m10s … 23h25m10s
//	     33  24h (the window's end), the last
//
// Jitter moves each step by up to 20% either way, so the count varies by a
// few attempts; the last one is at 24h whatever the jitter. Time spent in
// each attempt (up to Timeout) delays the later ones by as much.
//
// Known gaps: no egress proxy support (the dial guard must see the real
// destination); 410 Gone fails like any 4xx, it does not disable the
// endpoint; the unhealthy-host breaker and its synthetic 598 status live
// in package hostgate — Classify retries a 598 like any 5xx.
package deliver
