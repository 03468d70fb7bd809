package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// env is what a scenario works with: a fresh Hookflow, a receiver, a client
// and the result it fills.
type env struct {
	b   *bench
	srv *server
	cl  *client
	rcv *sink
	res *result

	loadFrom, loadTo int64 // clock() bounds of the load phase
	cpuFrom, cpuTo   time.Duration
}

// run starts a receiver and a Hookflow for one scenario, runs body, records
// the process's peak RSS and CPU time, and stops both.
func (b *bench) run(name string, body func(e *env) error) *result {
	res := &result{name: name, values: map[string]float64{}}
	rcv, err := startSink()
	if err != nil {
		res.err = err
		return res
	}
	defer rcv.close()
	srv, err := b.startHookflow(name)
	if err != nil {
		res.err = err
		return res
	}
	e := &env{b: b, srv: srv, cl: newClient(srv, b.workers), rcv: rcv, res: res}

	res.err = body(e)
	st, err := srv.stats()
	if err == nil {
		res.proc = st
		res.add("Hookflow peak RSS (VmHWM)", fmt.Sprintf("%.1f MB", float64(st.PeakRSS)/1e6))
		res.add("Hookflow CPU time, whole run (user+sys)", fmt.Sprintf("%.1f s", st.CPU.Seconds()))
		if e.loadTo > e.loadFrom && e.cpuTo > 0 {
			busy := (e.cpuTo - e.cpuFrom).Seconds() / e.loadSeconds()
			res.add("Hookflow CPU during the load phase (cores busy)", fmt.Sprintf("%.2f", busy))
		}
	}
	rcv.close()
	srv.stop()
	b.backend.cleanup(srv.dir)
	return res
}

// beginLoad marks the start of the measured phase.
func (e *env) beginLoad() {
	if st, err := e.srv.stats(); err == nil {
		e.cpuFrom = st.CPU
	}
	e.loadFrom = clock()
}

func (e *env) endLoad() {
	e.loadTo = clock()
	if st, err := e.srv.stats(); err == nil {
		e.cpuTo = st.CPU
	}
}

func (e *env) loadSeconds() float64 { return time.Duration(e.loadTo - e.loadFrom).Seconds() }

// campaign creates a campaign whose webhook POSTs {"b": <call id>, "user":
// <external id>} to path of the receiver; call is the Liquid reading the id.
func (e *env) campaign(fields map[string]any, path, call string) (string, error) {
	fields["name"] = "bench " + path
	fields["reeligibility_seconds"] = 0
	fields["webhook"] = map[string]any{
		"method":    "POST",
		"url":       e.rcv.urls[path],
		"body_type": "json",
		"body_pairs": []map[string]string{
			{"key": "b", "value": call},
			{"key": "user", "value": "{{${user_id}}}"},
		},
	}
	body, _ := json.Marshal(fields)
	out, err := e.cl.mustPost("/v1/campaigns", body)
	if err != nil {
		return "", err
	}
	var c struct{ ID string }
	return c.ID, json.Unmarshal(out, &c)
}

func (e *env) actionCampaign(event, path string) error {
	_, err := e.campaign(map[string]any{
		"delivery_type": "action_based",
		"trigger":       map[string]any{"event": event},
	}, path, "{{event_properties.${b}}}")
	return err
}

func (e *env) apiCampaign(path string) (string, error) {
	return e.campaign(map[string]any{"delivery_type": "api_triggered"}, path, "{{api_trigger_properties.${b}}}")
}

// drain waits until want healthy webhooks arrived or -drain passed, and
// records how it went.
func (e *env) drain(want int) {
	deadline := time.Now().Add(e.b.drain)
	for e.rcv.received() < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := e.rcv.received()
	e.res.add("webhooks received / expected", fmt.Sprintf("%d / %d", got, want))
	if got < want {
		e.res.add("NOT delivered when -drain ran out", strconv.Itoa(want-got))
	}
}

// intake: /users/track batches of 75 events, no campaign listening.
func (b *bench) intake() *result {
	return b.run("intake", func(e *env) error {
		var cs calls
		e.beginLoad()
		closedLoop(b.workers, b.duration, nil, func() {
			cs.post(e.cl, "/users/track", 75, func(id int64) []byte {
				return trackBody(id, events("bench_intake", 75, b.users))
			})
		})
		e.endLoad()

		accepted, lat := cs.summary()
		rate := float64(accepted) / e.loadSeconds()
		e.res.values[keyIntake] = rate
		e.res.add("clients × events per call", fmt.Sprintf("%d × 75", b.workers))
		e.res.add("events accepted", fmt.Sprintf("%d in %.1f s", accepted, e.loadSeconds()))
		e.res.add("events/s accepted", fmt.Sprintf("%.0f", rate))
		e.res.add("request latency p50 / p99", fmt.Sprintf("%s / %s", ms(pct(lat, 50)), ms(pct(lat, 99))))
		e.res.add("failed calls", cs.failures())
		return nil
	})
}

// e2e: every event triggers one webhook, at full speed. The driver keeps at
// most -max-backlog events accepted but not yet delivered, so the run
// measures the rate Hookflow sustains rather than how big a queue it can
// pile up in ten seconds.
func (b *bench) e2e() *result {
	return b.run("e2e", func(e *env) error {
		if err := e.actionCampaign("bench_e2e", pathHealthy); err != nil {
			return err
		}
		var cs calls
		gate := func() bool { return cs.accepted.Load()-int64(e.rcv.received()) < int64(b.maxBacklog) }
		e.beginLoad()
		closedLoop(b.workers, b.duration, gate, func() {
			cs.post(e.cl, "/users/track", 75, func(id int64) []byte {
				return trackBody(id, events("bench_e2e", 75, b.users))
			})
		})
		e.endLoad()
		accepted, _ := cs.summary()
		e.res.add("clients × events per call, backlog cap", fmt.Sprintf("%d × 75, %d", b.workers, b.maxBacklog))
		e.res.add("events accepted", fmt.Sprintf("%d in %.1f s", accepted, e.loadSeconds()))
		e.drain(accepted)

		arr, bad := e.rcv.snapshot()
		inLoad := countBetween(arr, e.loadFrom, e.loadTo)
		e.res.add("deliveries/s at the receiver during the load phase", fmt.Sprintf("%.0f", float64(inLoad)/e.loadSeconds()))
		if len(arr) > 0 {
			// Events in, webhooks out, over the whole run: the load phase
			// and the drain until the last webhook arrived.
			whole := float64(len(arr)) / time.Duration(lastAt(arr)-e.loadFrom).Seconds()
			e.res.values[keyE2E] = whole
			e.res.add("deliveries/s, load start → last webhook (judged)", fmt.Sprintf("%.0f", whole))
		}
		e.reportLatency(arr, bad, &cs, "", accepted)
		return nil
	})
}

// e2eRate: every event triggers one webhook, offered at a fixed rate;
// neighbours adds, per call, events for the slow and the failing endpoint,
// or, in neighbours-good, for two more healthy ones.
func (b *bench) e2eRate(name string, neighbours int) *result {
	slow, fail := pathSlow, pathFail
	if name == "neighbours-good" {
		slow, fail = pathPeer, pathPeer
	}
	return b.run(name, func(e *env) error {
		if err := e.actionCampaign("bench_e2e", pathHealthy); err != nil {
			return err
		}
		if neighbours > 0 {
			if err := e.actionCampaign("bench_slow", slow); err != nil {
				return err
			}
			if err := e.actionCampaign("bench_fail", fail); err != nil {
				return err
			}
		}

		const perCall = 10
		interval := time.Duration(float64(time.Second) * perCall / float64(b.rate))
		var cs calls
		e.beginLoad()
		openLoop(interval, b.duration, func() {
			cs.post(e.cl, "/users/track", perCall, func(id int64) []byte {
				evs := events("bench_e2e", perCall, b.users)
				evs = append(evs, events("bench_slow", neighbours, b.users)...)
				evs = append(evs, events("bench_fail", neighbours, b.users)...)
				rand.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
				return trackBody(id, evs)
			})
		})
		e.endLoad()
		healthy, _ := cs.summary()
		perSec := float64(b.rate)
		e.res.values[keyRate] = perSec
		e.res.add("offered", fmt.Sprintf("%.0f healthy events/s, %d per call every %s", perSec, perCall, interval))
		switch n := float64(neighbours) * perSec / perCall; {
		case neighbours == 0:
		case slow == pathPeer:
			e.res.add("neighbours offered", fmt.Sprintf("%.0f events/s to %s (answers 200 at once)", 2*n, pathPeer))
			e.res.add("neighbour requests seen", strconv.FormatInt(e.rcv.peer.Load(), 10))
		default:
			e.res.add("neighbours offered", fmt.Sprintf("%.0f events/s to %s (answers in %s) and %.0f/s to %s (500)",
				n, pathSlow, slowDelay, n, pathFail))
			e.res.add("neighbour requests seen: slow / failing", fmt.Sprintf("%d / %d", e.rcv.slow.Load(), e.rcv.fail.Load()))
		}
		e.res.add("healthy events accepted", fmt.Sprintf("%d in %.1f s", healthy, e.loadSeconds()))
		e.drain(healthy)
		arr, bad := e.rcv.snapshot()
		p99 := e.reportLatency(arr, bad, &cs, "healthy ", healthy)
		e.res.values[keyP99] = p99
		return nil
	})
}

// reportLatency adds the event accepted → webhook received latencies and
// returns the p99 in milliseconds. Of want webhooks, those that never
// arrived count as infinitely late: leaving them out would flatter the
// percentiles exactly when Hookflow falls behind.
func (e *env) reportLatency(arr []arrival, bad int, cs *calls, who string, want int) float64 {
	var lat []int64
	unknown := bad
	for _, a := range arr {
		if acc := cs.acceptedAt(a.call); acc != 0 {
			lat = append(lat, a.at-acc)
		} else {
			unknown++
		}
	}
	for range want - len(arr) {
		lat = append(lat, never)
	}
	p99 := pct(lat, 99)
	e.res.add(who+"accepted → received p50 / p99 / max",
		fmt.Sprintf("%s / %s / %s", ms(pct(lat, 50)), ms(p99), ms(pct(lat, 100))))
	if unknown > 0 {
		e.res.add("webhooks not traced to an accepted call", strconv.Itoa(unknown))
	}
	if p99 == never {
		return math.Inf(1)
	}
	return float64(p99) / 1e6
}

func lastAt(arr []arrival) int64 {
	var last int64
	for _, a := range arr {
		last = max(last, a.at)
	}
	return last
}

// fanout: /campaigns/trigger/send with 50 existing recipients a call.
func (b *bench) fanout() *result {
	return b.run("fanout", func(e *env) error {
		if err := createUsers(e.cl, b.users, b.workers); err != nil {
			return err
		}
		id, err := e.apiCampaign(pathHealthy)
		if err != nil {
			return err
		}

		var cs calls
		e.beginLoad()
		closedLoop(b.workers, b.duration, nil, func() {
			cs.post(e.cl, "/campaigns/trigger/send", 50, func(call int64) []byte {
				return sendBody(id, call, b.users)
			})
		})
		e.endLoad()
		accepted, lat := cs.summary()
		e.res.add("clients × recipients per call", fmt.Sprintf("%d × 50", b.workers))
		e.res.add("recipients enqueued", fmt.Sprintf("%d in %.1f s", accepted, e.loadSeconds()))
		e.res.add("recipients/s enqueued", fmt.Sprintf("%.0f", float64(accepted)/e.loadSeconds()))
		e.res.add("call latency p50 / p99", fmt.Sprintf("%s / %s", ms(pct(lat, 50)), ms(pct(lat, 99))))
		e.res.add("failed calls", cs.failures())
		e.drain(accepted)
		arr, _ := e.rcv.snapshot()
		inLoad := float64(countBetween(arr, e.loadFrom, e.loadTo))
		e.res.add("deliveries/s at the receiver during load", fmt.Sprintf("%.0f", inLoad/e.loadSeconds()))
		return nil
	})
}

func sendBody(campaign string, call int64, users int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"campaign_id":%q,"trigger_properties":{"b":"%d"},"recipients":[`, campaign, call)
	// Distinct recipients: Hookflow sends one webhook per user per call.
	seen := make(map[int]bool, 50)
	for len(seen) < 50 {
		u := rand.IntN(users)
		if seen[u] {
			continue
		}
		if len(seen) > 0 {
			b.WriteByte(',')
		}
		seen[u] = true
		fmt.Fprintf(&b, `{"external_user_id":"u%d"}`, u)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// broadcast: one /campaigns/trigger/send with broadcast true to
// -broadcast-users existing users. It is enqueued when the call returns:
// Hookflow writes every delivery in the call's transaction.
func (b *bench) broadcast() *result {
	return b.run("broadcast", func(e *env) error {
		t0 := time.Now()
		if err := createUsers(e.cl, b.broadcastUsers, b.workers); err != nil {
			return err
		}
		setup := time.Since(t0)
		e.res.add("users created first (attributes, 75 a call)", fmt.Sprintf("%d in %.1f s (%.0f/s)",
			b.broadcastUsers, setup.Seconds(), float64(b.broadcastUsers)/setup.Seconds()))
		id, err := e.apiCampaign(pathHealthy)
		if err != nil {
			return err
		}

		var cs calls
		e.beginLoad()
		cs.post(e.cl, "/campaigns/trigger/send", b.broadcastUsers, func(call int64) []byte {
			return fmt.Appendf(nil, `{"campaign_id":%q,"broadcast":true,"trigger_properties":{"b":"%d"}}`, id, call)
		})
		e.endLoad()
		if cs.fails.Load() > 0 {
			return fmt.Errorf("the broadcast call failed after %.1f s: %s", e.loadSeconds(), cs.failures())
		}
		took := e.loadSeconds()
		e.res.values[keyBroadcast] = took
		e.res.add("broadcast call: all enqueued (201 returned)", fmt.Sprintf("%.2f s", took))
		if n, err := e.enqueued(id); err == nil {
			e.res.add("deliveries enqueued (Hookflow's log)", strconv.FormatInt(n, 10))
		}

		e.drain(b.broadcastUsers)
		arr, _ := e.rcv.snapshot()
		if len(arr) > 0 {
			last := lastAt(arr)
			rate := float64(len(arr)) / time.Duration(last-e.loadTo).Seconds()
			e.res.add("broadcast delivered: deliveries/s from accept to last", fmt.Sprintf("%.0f", rate))
		}
		return nil
	})
}

// enqueued reads how many deliveries the last API send enqueued, from the
// Info line Hookflow logs for it.
func (e *env) enqueued(string) (int64, error) {
	data, err := os.ReadFile(filepath.Join(e.srv.dir, "hookflow.log"))
	if err != nil {
		return 0, err
	}
	var n int64 = -1
	for line := range strings.Lines(string(data)) {
		if !strings.Contains(line, "api send enqueued") {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if v, ok := strings.CutPrefix(f, "count="); ok {
				n, _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	if n < 0 {
		return 0, errors.New("no enqueue line in the log")
	}
	return n, nil
}

func countBetween(arr []arrival, from, to int64) int {
	n := 0
	for _, a := range arr {
		if a.at >= from && a.at <= to {
			n++
		}
	}
	return n
}

// loopback calibrates the machine: the driver's clients post webhook-sized
// bodies straight to the receiver, no Hookflow in between. It is the
// ceiling any end-to-end rate on this machine lives under.
func (b *bench) loopback() *result {
	res := &result{name: "loopback", values: map[string]float64{}}
	rcv, err := startSink()
	if err != nil {
		res.err = err
		return res
	}
	defer rcv.close()
	cl := &client{http: newClient(&server{}, b.workers).http}
	body := []byte(`{"b":"0","user":"u1"}`)
	d := min(b.duration, 5*time.Second)

	from := clock()
	closedLoop(b.workers, d, nil, func() {
		if _, _, err := cl.do("POST", rcv.urls[pathHealthy], body); err != nil {
			res.err = err
		}
	})
	secs := time.Duration(clock() - from).Seconds()
	res.add("clients, no Hookflow", strconv.Itoa(b.workers))
	res.add("requests/s, driver → receiver directly", fmt.Sprintf("%.0f", float64(rcv.received())/secs))
	return res
}
