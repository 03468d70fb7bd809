// Package metrics is Hookflow's Prometheus instrumentation: counters and
// histograms recorded on the hot paths of the sender and the API, gauges
// read from the queue and the host breakers when /metrics is scraped, and
// the handler that serves them in the Prometheus exposition format.
//
// Every metric lives in a private registry, so tests and several instances
// in one process never collide; the Go runtime and process collectors are
// registered beside Hookflow's own.
//
// # Metrics
//
// Recorded as things happen:
//
//	hookflow_attempts_total{host,class}            HTTP attempts by receiver host and
//	                                               result class: the error kind when the
//	                                               exchange failed (timeout, connect, dns,
//	                                               tls, reset, canceled, protocol, refused,
//	                                               request), even after a status arrived;
//	                                               else 1xx..5xx, or other
//	hookflow_attempt_duration_seconds{host}        histogram of attempt latency, 5ms..90s
//	hookflow_deliveries_total{outcome}             deliveries finished or rescheduled:
//	                                               delivered, failed, aborted, cancelled,
//	                                               retry_scheduled, other
//	hookflow_deliveries_enqueued_total{origin}     deliveries enqueued: campaign,
//	                                               api_message, other
//	hookflow_intake_objects_total{kind}            objects accepted by /users/track:
//	                                               attributes, events, purchases, errors
//	                                               (objects rejected), other
//	hookflow_http_requests_total{route,code}       API requests by route pattern and status
//	hookflow_http_request_duration_seconds{route}  histogram of API request latency
//
// Read from Sources at scrape time, so they are never stale and nothing
// polls in the background:
//
//	hookflow_queue_due                             deliveries pending and due now
//	hookflow_queue_scheduled                       deliveries pending with a future due time
//	                                               (delayed sends and retries)
//	hookflow_queue_sending                         deliveries claimed by a sender
//	hookflow_queue_oldest_due_age_seconds          how long the oldest due delivery has
//	                                               waited past its due time; 0 when none
//	hookflow_host_breaker_state{host,state}        1 for the host's breaker state (closed,
//	                                               paused, probing), 0 for the others
//	hookflow_host_failures_in_window{host}         failures counted in the breaker's window
//	hookflow_host_in_flight{host}                  attempts to the host in progress
//	hookflow_host_rate_limit{host}                 the last X-RateLimit-Limit the host sent
//	                                               (largest of the folded hosts); 0 if none
//
// When the queue source fails, the scrape fails with its error (HTTP 500)
// rather than serving numbers from an earlier scrape.
//
// # Host label cardinality
//
// Receiver hosts come from rendered URLs, so their number has no bound in
// principle. The first HostLimit distinct hosts keep their own label value;
// every later host is counted under host="other". For the breaker gauges,
// "other" sums the folded hosts: hookflow_host_breaker_state{host="other"}
// counts how many of them are in each state. The set of named hosts lives
// as long as the process; a restart starts it afresh.
package metrics
