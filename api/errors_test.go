package api

import (
	"encoding/json"
	"testing"

	"github.com/hookflow/hookflow"
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
