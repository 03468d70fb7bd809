package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/receiver"
)

// The cluster test runs three `hookflow serve` processes on one PostgreSQL
// schema, makes 20,000 deliveries to a loopback receiver and SIGKILLs one
// node while its requests are in flight. Every delivery must arrive; a
// delivery may arrive twice only when the dead node had sent it and died
// before recording the answer, and then with the same id and bytes.

const (
	clusterNodes      = 3
	clusterDeliveries = 20000
	// clusterBatch is the most recipients one trigger/send call takes.
	clusterBatch = 50
	// deadNode is the index of the node that is killed. The intake after
	// the first phase avoids it, so no enqueue dies with it half-answered.
	deadNode = 0
)

// clusterFlags are the serve settings of the cluster test: the lease
// exceeds the request timeout, and is short, so the survivors take the
// dead node's claims over a few seconds after the kill.
var clusterFlags = []string{
	"--listen", "127.0.0.1:0",
	"--allow-destinations", "127.0.0.0/8",
	"--request-timeout", "5s",
	"--lease", "10s",
	"--poll-interval", "200ms",
	"--log-format", "json",
	"--log-level", "info",
}

func TestClusterNodeKilledMidRequest(t *testing.T) {
	needBinary(t)
	needProcNet(t)
	dbURL := schemaURL(t, "hf_cluster_")
	start := time.Now()

	rec := newArrivals()
	rcv, err := receiver.StartWith(rec.script, receiver.Options{Record: receiver.RecordIDs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rcv.Close() })
	t.Cleanup(rec.release) // before Close, which waits for a held request

	key := createKeyArgs(t, "--database-url", dbURL)
	nodes, clients := startCluster(t, dbURL, key)
	rec.setOwners(newConnOwners(t, rcv.Addr(), nodes))
	campaign := createAPICampaign(clients[0], rcv.URL()+"/hook")

	// Phase one enqueues 40% through every node; phase two, running while
	// the kill comes, the rest through the survivors only.
	batches := clusterDeliveries / clusterBatch
	split := batches * 2 / 5

	// The dead node's request that brings it to a third of what went in
	// through it is held at the receiver, and the node killed then: the
	// kill is certain to cut at least that one mid-request. Deliveries due
	// at once are handed to the sender of the node that enqueued them, so
	// its share of phase one is what it surely has to send. The hold is
	// set before the first request: set once a third had arrived, for the
	// node's next request, it came too late in some runs, the node having
	// sent all its share in between, and then it had nothing left.
	killAt := split * clusterBatch / clusterNodes / 3
	held := rec.holdAt(deadNode, killAt)
	if err := intake(clients, campaign, 0, split); err != nil {
		t.Fatal(err)
	}
	phase2 := make(chan error, 1)
	go func() { phase2 <- intake(without(clients, deadNode), campaign, split, batches) }()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	select {
	case <-held:
	case <-ctx.Done():
		t.Fatalf("node %d sent %d requests, not the %d at which it is killed",
			deadNode, rec.sentBy(deadNode), killAt)
	}
	arrivedAtKill := rcv.Count()
	rec.killing()
	nodes[deadNode].kill()
	killedAt := time.Now()
	rec.release()
	inFlight := sendingIDs(t, dbURL)

	if err := <-phase2; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 120*time.Second, "every delivery is delivered", func() (bool, error) {
		n, err := countDelivered(dbURL)
		return n == clusterDeliveries, err
	})

	stored := storedDeliveries(t, dbURL)
	checkCluster(t, clusterResult{
		stored: stored, ids: rcv.IDs(), arrivals: rec.all(), inFlight: inFlight, killedAt: killedAt,
	})
	t.Logf("%d nodes, node %d SIGKILLed after %d arrivals; in flight (sending) at the kill: %d; "+
		"total time %s", clusterNodes, deadNode, arrivedAtKill, len(inFlight), time.Since(start).Round(time.Millisecond))
}

// startCluster starts the nodes on one database and returns them with an
// API client for each.
func startCluster(t *testing.T, dbURL, key string) ([]*proc, []*client) {
	t.Helper()
	var nodes []*proc
	var clients []*client
	for range clusterNodes {
		p := startServeArgs(t, append([]string{"--database-url", dbURL}, clusterFlags...)...)
		nodes = append(nodes, p)
		clients = append(clients, &client{t: t, base: p.base, key: key})
	}
	return nodes, clients
}

func without(cs []*client, i int) []*client {
	out := append([]*client{}, cs[:i]...)
	return append(out, cs[i+1:]...)
}

// intake sends batches [from, to) of clusterBatch new users each, six
// calls at a time, batch b through clients[b%len(clients)]. It runs off
// the test goroutine, so it returns the first error rather than failing.
func intake(clients []*client, campaign string, from, to int) error {
	const workers = 6
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range next {
				if err := sendUsers(clients[b%len(clients)], campaign, b*clusterBatch); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() {
		defer close(next)
		for b := from; b < to; b++ {
			select {
			case next <- b:
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// sendUsers triggers campaign for clusterBatch new users numbered from first.
func sendUsers(c *client, campaign string, first int) error {
	rs := make([]any, 0, clusterBatch)
	for i := first; i < first+clusterBatch; i++ {
		rs = append(rs, map[string]any{
			"external_user_id":      fmt.Sprintf("c%05d", i),
			"send_to_existing_only": false,
			"attributes":            map[string]any{"first_name": fmt.Sprintf("User %d", i)},
		})
	}
	return c.try(http.MethodPost, "/campaigns/trigger/send", map[string]any{
		"campaign_id": campaign, "recipients": rs,
	}, nil)
}

// arrival is one request at the receiver: which node sent it (an index
// into the nodes, -1 when unknown), when, and the SHA-256 of its body.
// An orphan was read after its sender died.
type arrival struct {
	node   int
	orphan bool
	at     time.Time
	sum    [32]byte
}

// arrivals records every request by webhook-id, in arrival order, and can
// hold one node's n-th request until released.
type arrivals struct {
	mu     sync.Mutex
	owners *connOwners
	byID   map[string][]arrival
	sent   map[int]int // requests by node
	killed bool
	// While holding, the request that makes holdCount of holdNode's is
	// held: held is closed when it came, unheld when it may be answered.
	holding   bool
	holdNode  int
	holdCount int
	held      chan struct{}
	unheld    chan struct{}
	once      sync.Once
}

func newArrivals() *arrivals {
	return &arrivals{
		byID: make(map[string][]arrival, clusterDeliveries), sent: map[int]int{},
		held: make(chan struct{}), unheld: make(chan struct{}),
	}
}

// holdAt makes node's n-th request (counting from the first) wait,
// unanswered, until release; the channel it returns is closed when that
// request came.
func (a *arrivals) holdAt(node, n int) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.holding, a.holdNode, a.holdCount = true, node, n
	return a.held
}

// killing says the dead node is being killed: from now on a request whose
// sender is not found is taken for the dead node's.
func (a *arrivals) killing() {
	a.mu.Lock()
	a.killed = true
	a.mu.Unlock()
}

// release lets the held request be answered (if its sender still waits).
func (a *arrivals) release() {
	a.once.Do(func() { close(a.unheld) })
}

// script records r and answers 200 after 0–20 ms, so that requests are in
// flight whenever the kill comes, or holds it when holdAt asks.
func (a *arrivals) script(r *receiver.Request, _ int) receiver.Response {
	a.mu.Lock()
	owners := a.owners
	a.mu.Unlock()
	got := arrival{node: owners.node(r.RemoteAddr), at: r.At, sum: sha256.Sum256(r.Body)}
	id := r.Header.Get("webhook-id")

	a.mu.Lock()
	if got.node < 0 && a.killed {
		// A request read after its sender's socket is gone: the survivors
		// hold theirs until answered, so it was the dead node's, sent
		// before it died and read from the receiver's buffer since.
		got.node, got.orphan = deadNode, true
	}
	a.byID[id] = append(a.byID[id], got)
	a.sent[got.node]++
	hold := a.holding && got.node == a.holdNode && a.sent[got.node] >= a.holdCount
	if hold {
		a.holding = false
		close(a.held)
	}
	a.mu.Unlock()
	if hold {
		<-a.unheld
	}
	return receiver.Response{Status: http.StatusOK, Delay: time.Duration(mrand.IntN(21)) * time.Millisecond}
}

// sentBy returns how many requests node has sent.
func (a *arrivals) sentBy(node int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sent[node]
}

// setOwners says how to tell the nodes apart; the receiver starts before
// the nodes, whose processes it names.
func (a *arrivals) setOwners(o *connOwners) {
	a.mu.Lock()
	a.owners = o
	a.mu.Unlock()
}

func (a *arrivals) all() map[string][]arrival {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string][]arrival, len(a.byID))
	for id, as := range a.byID {
		out[id] = append([]arrival(nil), as...)
	}
	return out
}

// clusterResult is what checkCluster judges.
type clusterResult struct {
	stored   map[string]storedDelivery
	ids      map[string]int
	arrivals map[string][]arrival
	inFlight map[string]bool
	killedAt time.Time
}

// checkCluster asserts that every delivery was delivered and arrived with
// its stored bytes, and that every repeated arrival is the dead node's
// unrecorded attempt followed by one survivor's attempt.
func checkCluster(t *testing.T, r clusterResult) {
	t.Helper()
	if len(r.stored) != clusterDeliveries {
		t.Errorf("%d deliveries stored, want %d", len(r.stored), clusterDeliveries)
	}
	total, dups, caught, orphans := 0, 0, 0, 0
	perNode := map[int]int{}
	for id, d := range r.stored {
		as := r.arrivals[id]
		total += len(as)
		if d.state != hookflow.StateDelivered {
			t.Errorf("delivery %s ended %s, want delivered", id, d.state)
		}
		if r.ids[id] != len(as) || len(as) == 0 {
			t.Errorf("delivery %s arrived %d times (receiver's count %d), want at least once", id, len(as), r.ids[id])
			continue
		}
		for i, a := range as {
			perNode[a.node]++
			if a.orphan {
				orphans++
			}
			if a.sum != d.sum {
				t.Errorf("delivery %s arrival %d of %d carries other bytes than stored", id, i+1, len(as))
			}
		}
		if r.inFlight[id] && as[0].node == deadNode {
			caught++
		}
		if len(as) > 1 {
			dups += len(as) - 1
			checkRepeat(t, id, as, r)
		}
	}
	for id, n := range r.ids {
		if _, ok := r.stored[id]; !ok {
			t.Errorf("the receiver got %d requests with webhook-id %q, which is no delivery", n, id)
		}
	}

	t.Logf("deliveries %d, arrivals %d, duplicates %d; the dead node's attempts cut by the kill "+
		"(in flight, first sent by it): %d; its arrivals read after it died: %d; arrivals per node: %v",
		len(r.stored), total, dups, caught, orphans, perNode)
	if perNode[-1] > 0 {
		t.Errorf("%d arrivals came from no node's connection", perNode[-1])
	}
	if caught == 0 {
		t.Errorf("the kill caught no request of node %d in flight: the test proved nothing", deadNode)
	}
}

// checkRepeat asserts a delivery that arrived more than once was in flight
// at the kill, every arrival but the last came from the dead node, and the
// last from a survivor after the kill.
func checkRepeat(t *testing.T, id string, as []arrival, r clusterResult) {
	t.Helper()
	if !r.inFlight[id] {
		t.Errorf("delivery %s arrived %d times but was not in flight at the kill", id, len(as))
	}
	last := as[len(as)-1]
	for i, a := range as[:len(as)-1] {
		if a.node != deadNode {
			t.Errorf("delivery %s arrival %d of %d came from node %d: only the dead node %d may have sent it before",
				id, i+1, len(as), a.node, deadNode)
		}
	}
	if last.node == deadNode || last.node < 0 || last.at.Before(r.killedAt) {
		t.Errorf("delivery %s arrived %d times, last from node %d at %s (kill at %s), want a survivor after the kill",
			id, len(as), last.node, last.at.Format(time.StampMicro), r.killedAt.Format(time.StampMicro))
	}
	if len(as) != 2 {
		t.Errorf("delivery %s arrived %d times, want at most 2", id, len(as))
	}
}

// connOwners tells which node sent a request from its connection's client
// address, by finding the process that holds that socket (Linux /proc).
// The lookup runs while the request's connection is open, so the socket is
// there to find. Its answer is kept per client address, and checked on
// every request with one readlink, since a port may be reused by another
// connection once the first closed.
type connOwners struct {
	t        *testing.T
	rcvPort  int
	pids     []int
	mu       sync.Mutex
	byClient map[string]owner
}

// owner is the node holding a socket, and the file descriptor (a
// /proc/PID/fd/N path) through which it held it when looked up.
type owner struct {
	node       int
	fd, socket string
}

func newConnOwners(t *testing.T, rcvAddr string, nodes []*proc) *connOwners {
	_, port, err := net.SplitHostPort(rcvAddr)
	if err != nil {
		t.Fatal(err)
	}
	o := &connOwners{t: t, byClient: map[string]owner{}}
	o.rcvPort, _ = strconv.Atoi(port)
	for _, p := range nodes {
		o.pids = append(o.pids, p.cmd.Process.Pid)
	}
	return o
}

// node returns the index of the node whose connection comes from client,
// or -1.
func (o *connOwners) node(client string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ow, ok := o.byClient[client]; ok {
		if l, err := os.Readlink(ow.fd); err == nil && l == ow.socket {
			return ow.node
		}
	}
	ow, err := o.lookup(client)
	if err != nil {
		// /proc/net/tcp is read in pieces and may miss a socket that moved
		// meanwhile: look once more before giving up.
		if ow, err = o.lookup(client); err != nil {
			return -1
		}
	}
	o.byClient[client] = ow
	return ow.node
}

func (o *connOwners) lookup(client string) (owner, error) {
	_, port, err := net.SplitHostPort(client)
	if err != nil {
		return owner{}, err
	}
	p, _ := strconv.Atoi(port)
	inode, err := socketInode(p, o.rcvPort)
	if err != nil {
		return owner{}, err
	}
	socket := "socket:[" + inode + "]"
	for i, pid := range o.pids {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && l == socket {
				return owner{node: i, fd: fd, socket: socket}, nil
			}
		}
	}
	return owner{}, fmt.Errorf("no node holds %s", socket)
}

// socketInode finds in /proc/net/tcp the inode of the IPv4 socket from
// local port from to remote port to.
func socketInode(from, to int) (string, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", err
	}
	defer f.Close()
	local, remote := fmt.Sprintf(":%04X", from), fmt.Sprintf(":%04X", to)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fs := strings.Fields(sc.Text())
		// Closed sockets in TIME_WAIT may share the ports; they have no inode.
		if len(fs) > 9 && strings.HasSuffix(fs[1], local) && strings.HasSuffix(fs[2], remote) && fs[9] != "0" {
			return fs[9], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no socket from port %d to %d", from, to)
}

// needProcNet skips t where sockets cannot be traced to processes, or
// fails it where HOOKFLOW_REQUIRE_POSTGRES=1 (CI) says the multi-node test
// must run.
func needProcNet(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		if os.Getenv("HOOKFLOW_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("telling nodes apart needs /proc/net/tcp: %v", err)
		}
		t.Skipf("telling nodes apart needs /proc/net/tcp: %v", err)
	}
}

// pgServerURL is the test database: HOOKFLOW_TEST_DATABASE_URL, or the local
// trust-authenticated database "test".
func pgServerURL() string {
	if u := os.Getenv("HOOKFLOW_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://127.0.0.1:5432/test"
}

// schemaURL returns the database URL with a fresh schema, named with
// prefix, in its search_path, dropped at cleanup. It skips t when
// PostgreSQL does not answer, unless HOOKFLOW_REQUIRE_POSTGRES=1 makes that
// a failure.
func schemaURL(t *testing.T, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgServerURL())
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("HOOKFLOW_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("postgres at %s: %v", pgServerURL(), err)
		}
		t.Skipf("postgres at %s not reachable: %v", pgServerURL(), err)
	}

	var b [6]byte
	rand.Read(b[:])
	schema := prefix + hex.EncodeToString(b[:])
	u, err := url.Parse(pgServerURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	// Registered before the nodes start, this cleanup runs after they are
	// killed, so no node recreates what it drops.
	t.Cleanup(func() {
		_, err := pgExec(pgServerURL(), `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return u.String()
}

// pgExec runs one statement on a connection of its own.
func pgExec(dbURL, sql string) (int64, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, sql)
	return tag.RowsAffected(), err
}

// sendingIDs returns the ids of the deliveries some node holds a lease on.
func sendingIDs(t *testing.T, dbURL string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	err := pgRows(dbURL, `SELECT id FROM deliveries WHERE state = 'sending'`, func(rows pgx.Rows) error {
		var id string
		err := rows.Scan(&id)
		ids[id] = true
		return err
	})
	if err != nil {
		t.Fatalf("reading deliveries in flight: %v", err)
	}
	return ids
}

// countDelivered counts the delivered deliveries and fails when any ended
// otherwise.
func countDelivered(dbURL string) (int, error) {
	counts := map[string]int{}
	err := pgRows(dbURL, `SELECT state, count(*) FROM deliveries GROUP BY state`, func(rows pgx.Rows) error {
		var state string
		var n int
		err := rows.Scan(&state, &n)
		counts[state] = n
		return err
	})
	for state, n := range counts {
		if hookflow.Final(state) && state != hookflow.StateDelivered {
			return 0, fmt.Errorf("%d deliveries ended %s", n, state)
		}
	}
	return counts[hookflow.StateDelivered], err
}

// storedDelivery is a delivery's end state and the SHA-256 of its stored
// request body.
type storedDelivery struct {
	state string
	sum   [32]byte
}

func storedDeliveries(t *testing.T, dbURL string) map[string]storedDelivery {
	t.Helper()
	out := map[string]storedDelivery{}
	err := pgRows(dbURL, `SELECT id, state, request_body
		FROM deliveries JOIN delivery_content ON delivery_id = id`, func(rows pgx.Rows) error {
		var id, state string
		var body []byte
		err := rows.Scan(&id, &state, &body)
		out[id] = storedDelivery{state: state, sum: sha256.Sum256(body)}
		return err
	})
	if err != nil {
		t.Fatalf("reading deliveries: %v", err)
	}
	return out
}

// pgRows runs query on a connection of its own and calls scan per row.
func pgRows(dbURL, query string, scan func(pgx.Rows) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
