package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hookflow/hookflow"
	"github.com/hookflow/hookflow/intake"
)

// A type error names the field and what it takes in JSON words, never a Go
// type such as []hookflow.Header or map[string]interface {}.
func TestDecodeTypeErrorsSpeakJSON(t *testing.T) {
	var v struct {
		Name    string            `json:"name"`
		Count   int64             `json:"count"`
		Ratio   *float64          `json:"ratio"`
		On      bool              `json:"on"`
		IDs     []string          `json:"ids"`
		Headers []hookflow.Header `json:"headers"`
		Props   map[string]any    `json:"props"`
		Extra   map[string]string `json:"extra"`
		Nested  struct {
			Rows [][]int `json:"rows"`
		} `json:"nested"`
		Num json.Number `json:"num"`
	}
	tests := []struct{ body, want string }{
		{`{"name": 5}`, "name: expected string, got JSON number"},
		{`{"count": "10"}`, "count: expected whole number, got JSON string"},
		{`{"count": 1.5}`, "count: expected whole number, got JSON number 1.5"},
		{`{"ratio": "x"}`, "ratio: expected number, got JSON string"},
		{`{"on": "yes"}`, "on: expected true or false, got JSON string"},
		{`{"ids": "ben"}`, "ids: expected array of strings, got JSON string"},
		{`{"headers": {"a": "b"}}`, "headers: expected array of objects, got JSON object"},
		{`{"props": [1]}`, "props: expected object, got JSON array"},
		{`{"extra": [1]}`, "extra: expected object of strings, got JSON array"},
		{`{"nested": {"rows": [1]}}`, "nested.rows: expected array of whole numbers, got JSON number"},
		{`{"num": true}`, "num: expected number, got JSON bool"},
		{`[1]`, "request body: expected object, got JSON array"},
	}
	for _, tt := range tests {
		err := decodeBytes([]byte(tt.body), &v)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %q", tt.body, err, tt.want)
		}
	}
}

// writeError keeps what only the log should see out of the body: the
// store's and the driver's words on a stray not-found or conflict, and any
// internal cause. A 413 closes the connection, whose body was not read.
func TestWriteErrorShowsOnlyTheUserMessage(t *testing.T) {
	driver := errors.New(`UNIQUE constraint failed: campaigns.id (1555)`)
	tests := []struct {
		name      string
		err       error
		status    int
		message   string
		connClose bool
	}{
		{"api error", errorf(http.StatusForbidden, "no"), 403, "no", false},
		{"validation", hookflow.Invalid("name", "is required"), 400, "name: is required", false},
		{"too large", fmt.Errorf("%w: more than 4 bytes", intake.ErrTooLarge), 413,
			"request body too large: more than 4 bytes", true},
		{"stray not found", fmt.Errorf("finding user: %w: %w", hookflow.ErrNotFound, driver), 404,
			"not found: the request names an object that does not exist", false},
		{"stray conflict", fmt.Errorf("saving: %w: %w", hookflow.ErrConflict, driver), 409,
			"conflict: the request raced another change; retry it", false},
		{"internal", fmt.Errorf("reading campaign: %w", driver), 500,
			"internal error; the server log has the details", false},
	}
	log := slog.New(slog.DiscardHandler)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			writeError(w, httptest.NewRequest("POST", "/v1/campaigns", nil), log, tt.err)

			var body errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if w.Code != tt.status || body.Message != tt.message {
				t.Errorf("got %d %q, want %d %q", w.Code, body.Message, tt.status, tt.message)
			}
			if closed := w.Header().Get("Connection") == "close"; closed != tt.connClose {
				t.Errorf("Connection: close = %v, want %v", closed, tt.connClose)
			}
		})
	}
}
