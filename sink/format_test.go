package sink

import (
	"bytes"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/receiver"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// at is a fixed arrival time so golden files do not change between runs.
var at = time.Date(2026, 12, 3, 18, 37, 25, 123456789, time.UTC)

// request builds a recorded request the way the receiver would.
func request(method, path string, header http.Header, body string) receiver.Request {
	return receiver.Request{
		Method:     method,
		RawPath:    path,
		Header:     header,
		Body:       []byte(body),
		BodyLen:    int64(len(body)),
		At:         at,
		RemoteAddr: "127.0.0.1:51234",
	}
}

// goldenCases are the requests whose printed forms live under testdata: each
// case has a .txt (Format) and a .jsonl (FormatJSON) golden file.
var goldenCases = map[string]receiver.Request{
	"json_body": request("POST", "/hooks/crm?source=braze&x=%20y", http.Header{
		"Host":         {"127.0.0.1:9000"},
		"Content-Type": {"application/json"},
		"Webhook-Id":   {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"User-Agent":   {"Hookflow/0.1.0-dev"},
	}, `{"note":"a&b<c>",  "k":1, "name":"O\"Brien","bio":"line1\nline2\\end","big":1.50e3,"tags":[],"nested":{"a":[1,2]}}`),
	"form_body": request("PUT", "/api/v1/leads/42", http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"},
		"X-Multi":      {"one", "two"},
	}, "name=Zo%C3%AB&plan=pro\r\n"),
	"no_body": request("GET", "/ping", http.Header{"Accept": {"*/*"}}, ""),
	"hostile_bytes": request("POST", "/raw", http.Header{
		"X-Latin1": {"caf\xe9"},
	}, "Zoë 😀\x00\xff \x1b[31mred\x1b[0m \u202eevil\u202c\ttab\n"),
	"not_quite_json": request("POST", "/j", http.Header{
		"Content-Type": {"application/json"},
	}, `{"count": }`),
	"truncated": func() receiver.Request {
		r := request("POST", "/big", nil, `{"items":[1,2,3`)
		r.BodyLen = 5 << 20
		return r
	}(),
	"incomplete": func() receiver.Request {
		r := request("POST", "/cut", http.Header{"Content-Length": {"100"}}, "only ten!!")
		r.Incomplete = true
		return r
	}(),
}

func TestFormatGolden(t *testing.T) {
	for name, r := range goldenCases {
		t.Run(name, func(t *testing.T) {
			var human, lines bytes.Buffer
			Format(&human, r)
			if err := FormatJSON(&lines, r); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name+".txt", human.Bytes())
			checkGolden(t, name+".jsonl", lines.Bytes())
		})
	}
}

func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}

	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

// TestEveryGoldenFileIsUsed keeps testdata honest: a golden file no case
// reads would pass silently forever.
func TestEveryGoldenFileIsUsed(t *testing.T) {
	files, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2*len(goldenCases) {
		t.Errorf("testdata has %d files, want %d (a .txt and a .jsonl per case)",
			len(files), 2*len(goldenCases))
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimSuffix(f.Name(), ".txt"), ".jsonl")
		if _, ok := goldenCases[name]; !ok {
			t.Errorf("testdata/%s belongs to no case", f.Name())
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain text", "plain text"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
		{"crlf\r\n", `crlf\r` + "\n"},
		{"\x00\x07\x7f", `\x00\x07\x7f`},
		{"\x1b[2J", `\x1b[2J`},
		{"\xff\xfe", `\xff\xfe`},
		{"Zoë 😀 日本", "Zoë 😀 日本"},
		{"\u202eevil", `\u202eevil`},
		{"\u0085next", `\u0085next`},
		{"a\u00a0b", "a\u00a0b"},
		{`back\slash`, `back\slash`},
	}
	for _, tt := range tests {
		if got := escape([]byte(tt.in)); got != tt.want {
			t.Errorf("escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
