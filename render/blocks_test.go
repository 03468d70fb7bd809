package render

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hookflow/hookflow"
)

// withBlocks returns testData resolving names from blocks.
func withBlocks(blocks map[string]string) Data {
	d := testData()
	d.Blocks = func(name string) (string, bool) {
		s, ok := blocks[name]
		return s, ok
	}
	return d
}

func TestContentBlocksRender(t *testing.T) {
	blocks := map[string]string{
		"footer":  "Bye {{${first_name}}}{% if greeting %}, {{greeting}}{% endif %}",
		"outer":   "[{{content_blocks.${inner}}}]",
		"inner":   "{{custom_attribute.${plan}}}",
		"self":    "a{{content_blocks.${self}}}",
		"ping":    "{{content_blocks.${pong}}}",
		"pong":    "{{content_blocks.${ping}}}",
		"broken":  "{% if %}",
		"stop":    "{% abort_message('from a block') %}",
		"d1":      "{{content_blocks.${d2}}}",
		"d2":      "{{content_blocks.${d3}}}",
		"d3":      "{{content_blocks.${d4}}}",
		"d4":      "{{content_blocks.${d5}}}",
		"d5":      "{{content_blocks.${d6}}}",
		"d6":      "deep",
		"trimmed": "x",
	}
	tests := []struct {
		name, src, want, err string
	}{
		{"reads the user and earlier assigns", `{% assign greeting = "see you" %}{{content_blocks.${footer}}}`, "Bye Ann, see you", ""},
		{"spaces and dashes", "a  {{- content_blocks.${trimmed} -}}  b", "axb", ""},
		{"nested", `{{content_blocks.${outer}}}`, "[pro]", ""},
		{"depth limit", `{{content_blocks.${d1}}}`, "", `blocks nest deeper than 5`},
		{"itself", `{{content_blocks.${self}}}`, "", `content block "self" includes itself (self > self)`},
		{"cycle", `{{content_blocks.${ping}}}`, "", `content block "ping" includes itself (ping > pong > ping)`},
		{"unknown", `{{content_blocks.${nope}}}`, "", `unknown content block "nope"`},
		{"bad content", `{{content_blocks.${broken}}}`, "", `content block "broken"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderRaw(t, tc.src, withBlocks(blocks))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}

	_, err := renderRaw(t, `{{content_blocks.${stop}}}`, withBlocks(blocks))
	var abort *AbortError
	if !errors.As(err, &abort) || abort.Reason != "from a block" {
		t.Errorf("abort in a block: error = %v, want AbortError \"from a block\"", err)
	}
	if _, err := renderRaw(t, `{{content_blocks.${footer}}}`, testData()); err == nil ||
		!strings.Contains(err.Error(), "content blocks are not available here") {
		t.Errorf("no resolver: error = %v", err)
	}
}

func TestContentBlockEditReachesNextRender(t *testing.T) {
	tpl, err := NewEngine().Compile(rawWebhook(`{{content_blocks.${footer}}}`))
	if err != nil {
		t.Fatal(err)
	}
	content := "v1"
	d := testData()
	d.Blocks = func(string) (string, bool) { return content, true }
	for _, want := range []string{"v1", "v2"} {
		content = want
		req, err := tpl.Render(d)
		if err != nil || string(req.Body) != want {
			t.Fatalf("render = %v, %v; want %q", req, err, want)
		}
	}
}

func TestCheckContentBlockSyntax(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{{content_blocks.${a b}}}`, `webhook.body_raw: line 1: content block name "a b" must be letters, digits, hyphens and underscores`},
		{`{{content_blocks.${a} | upcase}}`, `webhook.body_raw: line 1: a content block is included as {{content_blocks.${name}}}, with nothing else inside the braces`},
		{`{{content_blocks.footer}}`, `webhook.body_raw: line 1: a content block is included as {{content_blocks.${name}}}, with nothing else inside the braces`},
		{`{% content_blocks footer %}`, `webhook.body_raw: line 1: a content block is included as {{content_blocks.${name}}}, not as a tag`},
	}
	for _, tc := range tests {
		err := Check(rawWebhook(tc.src))
		if err == nil || err.Error() != tc.want {
			t.Errorf("Check(%q) = %v, want %q", tc.src, err, tc.want)
		}
	}
	if err := Check(rawWebhook(`{{content_blocks.${foot-er_1}}}`)); err != nil {
		t.Errorf("Check(valid block) = %v", err)
	}
}

func TestBlockNames(t *testing.T) {
	w := hookflow.Webhook{
		Method: "POST", URL: "https://x.test/{{content_blocks.${path}}}",
		Headers:   []hookflow.Header{{Name: "X", Value: "{{content_blocks.${footer}}}"}},
		BodyPairs: []hookflow.KeyValue{{Key: "a", Value: "{{content_blocks.${footer}}}{{content_blocks.${sig}}}"}},
	}
	want := []string{"path", "footer", "sig"}
	if got := BlockNames(w); !reflect.DeepEqual(got, want) {
		t.Errorf("BlockNames = %v, want %v", got, want)
	}
}
