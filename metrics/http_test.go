package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMiddleware(t *testing.T) {
	m := New(Sources{}, nil)
	mux := http.NewServeMux()
	mux.Handle("POST /users/track", m.Middleware("POST /users/track",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated)
		})))
	mux.Handle("GET /deliveries/{id}", m.Middleware("GET /deliveries/{id}",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.PathValue("id") == "missing" {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, "{}")
		})))
	mux.Handle("GET /empty", m.Middleware("GET /empty",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	mux.Handle("POST /panic", m.Middleware("POST /panic",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler) // aborts quietly, without a stack in the log
		})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	do := func(method, path string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if path == "/panic" {
				return // the server drops the connection
			}
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
	}
	do("POST", "/users/track")
	do("GET", "/deliveries/d1")
	do("GET", "/deliveries/d2")
	do("GET", "/deliveries/missing")
	do("GET", "/empty")
	// POST, since the client would retry a GET on the dropped connection.
	do("POST", "/panic")

	assertSamples(t, m, "hookflow_http_requests_total",
		`hookflow_http_requests_total{code="200",route="GET /deliveries/{id}"} 2`,
		`hookflow_http_requests_total{code="200",route="GET /empty"} 1`,
		`hookflow_http_requests_total{code="201",route="POST /users/track"} 1`,
		`hookflow_http_requests_total{code="404",route="GET /deliveries/{id}"} 1`,
		`hookflow_http_requests_total{code="500",route="POST /panic"} 1`,
	)
	assertSamples(t, m, "hookflow_http_request_duration_seconds_count",
		`hookflow_http_request_duration_seconds_count{route="GET /deliveries/{id}"} 3`,
		`hookflow_http_request_duration_seconds_count{route="GET /empty"} 1`,
		`hookflow_http_request_duration_seconds_count{route="POST /panic"} 1`,
		`hookflow_http_request_duration_seconds_count{route="POST /users/track"} 1`,
	)
}

func TestMiddlewareKeepsFlusher(t *testing.T) {
	m := New(Sources{}, nil)
	h := m.Middleware("GET /stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush through middleware: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/stream", nil))
	if !rec.Flushed {
		t.Error("recorder not flushed")
	}
}

func TestRequest(t *testing.T) {
	m := New(Sources{}, nil)
	m.Request("POST /messages/send", 201, 20*time.Millisecond)
	m.Request("POST /messages/send", 400, 300*time.Microsecond)
	m.Request("POST /messages/send", 201, 2*time.Millisecond)

	assertSamples(t, m, "hookflow_http_requests_total",
		`hookflow_http_requests_total{code="201",route="POST /messages/send"} 2`,
		`hookflow_http_requests_total{code="400",route="POST /messages/send"} 1`,
	)
	assertSamples(t, m, "hookflow_http_request_duration_seconds_sum",
		`hookflow_http_request_duration_seconds_sum{route="POST /messages/send"} 0.0223`,
	)
	assertSamples(t, m, "hookflow_http_request_duration_seconds_bucket",
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.0005"} 1`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.001"} 1`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.0025"} 2`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.005"} 2`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.01"} 2`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.025"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.05"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.1"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.25"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="0.5"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="1"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="2.5"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="5"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="10"} 3`,
		`hookflow_http_request_duration_seconds_bucket{route="POST /messages/send",le="+Inf"} 3`,
	)
}
