package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/sqlite"
)

// /readyz follows the store, as `hookflow serve` wires it (a read of the
// queue): 200 while a real SQLite store answers, 503 with a reason once
// it does not (the driver's own words go to the log only); /healthz answers 200 either way, since the process runs.
func TestReadyzFollowsTheStore(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{
		Store: store, Clock: hookflow.SystemClock{}, Log: log,
		Ready: func(ctx context.Context) error { _, _, err := store.NextDue(ctx); return err },
	})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if status, body := get("/readyz"); status != http.StatusOK || body != `{"status":"ready"}` {
		t.Errorf("/readyz with the store up: %d %s", status, body)
	}

	store.Close()
	if status, body := get("/readyz"); status != http.StatusServiceUnavailable ||
		!strings.HasPrefix(body, `{"reason":`) || !strings.Contains(body, `"status":"unavailable"`) ||
		strings.Contains(body, "sql") {
		t.Errorf("/readyz with the store closed: %d %s; want 503, unavailable with a reason "+
			"that does not quote the driver", status, body)
	}
	if status, body := get("/healthz"); status != http.StatusOK || body != `{"status":"ok"}` {
		t.Errorf("/healthz with the store closed: %d %s; want 200", status, body)
	}
}
