// Package hostgate isolates the hosts Hookflow's senders deliver to, so that
// one slow or failing endpoint cannot delay deliveries to the others. It is
// pure decision logic: a Gate reads the time from an injected hookflow.Clock,
// makes no HTTP requests and persists nothing. The sender asks it before each
// attempt (Acquire) and tells it the outcome after (the release func).
//
// A Gate applies three rules per host, where a host is the URL's host[:port]
// as the sender passes it, compared without regard to case (Hookflow has one
// workspace, so Braze's per (host, workspace) rule is per host here).
//
// # Use
//
// Before an attempt, call Acquire(host). Granted, make the attempt and call
// the release func with its Outcome (OutcomeOf builds one from the recorded
// attempt). Held, do what the Hold's Reason says and make no request:
//
//   - HoldBusy: keep the delivery waiting for a slot of that host; record
//     nothing, use up no retry.
//   - HoldPaused: record Hold.Attempt (a synthetic 598) and retry the
//     delivery at Hold.Until.
//   - HoldSlowed: defer the delivery to Hold.Until; record nothing.
//
// Test sends should not pass through the Gate at all (Braze neither
// throttles nor counts them); if one does, mark its Outcome.Test.
//
// # Per-host concurrency
//
// At most MaxPerHost attempts to one host are in flight at once (default 16
// here; hookflow serve sets 32, --max-per-host).
// Acquire beyond that returns HoldBusy: the delivery waits for a slot. Waiting
// is not failing: no attempt is recorded and no retry is used up. A host that
// answers in 30 s, or trickles its body until the deadline, therefore ties up
// at most MaxPerHost of the sender's attempts, never all of them.
//
// # Unhealthy-host breaker
//
// The exact rule:
//
//   - Counted failures are attempts that ended with status 408, 429, 502,
//     503, 504 or 529, or without a usable response because of a timeout,
//     connect, dns, tls or reset error (deliver.Kind*). A 2xx whose body
//     timed out counts (its kind is timeout). Other statuses (500, 404, …)
//     and other errors are answers, not failures: the host is up.
//   - Test sends never count and never change a host's state, nor slow it
//     (Outcome.Test). Neither do attempts that never reached the host (kinds canceled,
//     refused, request). Synthetic 598s are not attempts and are not counted.
//   - Failures are counted in a sliding window of Window (default 60 s),
//     kept as per-second buckets: a failure recorded during second s (of the
//     clock's Unix time) is counted until second s+Window begins. The count
//     is exact to the second and costs one bucket per second of the window.
//     Successes do not reset the count: a host that fails 4 times out of 5
//     trips exactly when its failures alone exceed the threshold.
//   - When a failure makes the count in the window greater than
//     FailureThreshold (default 3000, Braze's "more than 3,000"), the host is
//     paused: for exactly Pause (default 60 s) from that moment, Acquire
//     returns HoldPaused with Until = end of the pause. The sender records a
//     synthetic attempt with status 598 (Hold.Attempt) and retries the
//     delivery at Until. 3000 failures in a window do not trip; 3001 do.
//   - Outcomes of attempts started before the trip (still in flight when it
//     happened) are ignored for health: the pause already decided.
//   - At the end of the pause the host is probing: at most Probes (default 3)
//     probe attempts are granted, all of which may run at once; any other
//     Acquire gets HoldBusy. A probe that fails (counted failure, as above)
//     pauses the host again for another Pause at once. When all Probes probes
//     have answered without failing, the host is healthy again: its window is
//     emptied and full speed resumes. A probe that ends neutral (test,
//     canceled, refused, request) gives its probe slot back.
//
// The default threshold suits hosts that fail fast (connection refused at
// thousands a second). A host that is merely slow rarely reaches it; the
// per-host limit is what isolates it.
//
// # Receiver-driven slowing
//
// After a 429 or 503 response the host (not only that delivery) is slowed:
// Acquire returns HoldSlowed with Until, and the sender defers the delivery
// to Until without an attempt. Until is the later of
//
//   - now + Retry-After, given in seconds or as an HTTP date, and
//   - the X-RateLimit-Reset time when X-RateLimit-Remaining is 0. A Reset of
//     at least 1,000,000,000 is a Unix time in seconds (Braze, GitHub);
//     a smaller one is seconds from now (the IETF RateLimit draft's style).
//
// each capped at SlowCap (default 1 h) from now. A later slowing never
// shortens an earlier one. Zero, past, negative or malformed values do not
// slow. X-RateLimit-Limit is kept for the operator view only (HostState, and
// the hookflow_host_rate_limit metric); the Gate does not pace to it. Headers of other statuses do not slow the
// host (a 200 with Remaining: 0 is honoured once the receiver answers 429).
//
// # Memory
//
// Hosts are tracked in a map. A host with nothing in flight, no failures in
// its window, not paused, probing or slowed holds no information, and is
// evicted by Sweep, which Acquire also runs once per Window.
//
// # Known gaps
//
// A Gate lives in one process: with several sender nodes each counts its
// own failures and limits its own concurrency, so the cluster-wide
// threshold and limit are per node times nodes. A 429 or 503 without
// Retry-After or rate-limit headers counts as a failure but does not slow
// the host; the delivery's own backoff applies.
package hostgate
