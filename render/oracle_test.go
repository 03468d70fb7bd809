package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// oracleDir holds brazejs, the reference implementation of Braze's Liquid
// dialect, pinned by package-lock.json. CI installs it with
// `npm ci --prefix render/testdata/oracle`.
const oracleDir = "testdata/oracle"

type oracleCase struct {
	name, src string
	// differs, when set, says why this package deliberately renders the
	// case differently from brazejs; the case is then not compared.
	differs string
}

// oracleCases are rendered by both engines against testData and must
// agree.
var oracleCases = []oracleCase{
	{name: "standard tag", src: "Hi {{${first_name}}},"},
	{name: "ids", src: "{{${user_id}}} {{${braze_id}}}"},
	{name: "mapped standard tags", src: "{{${email_address}}} {{${city}}} {{${phone_number}}}"},
	{name: "missing tag", src: "Hi {{${nickname}}},"},
	{name: "default on missing", src: "Hi {{${nickname} | default: 'there'}},"},
	{name: "custom attribute", src: "{{custom_attribute.${plan}}}"},
	{name: "event property number", src: "level {{event_properties.${level}}}"},
	{name: "trigger property", src: "{{api_trigger_properties.${coupon}}}"},
	{name: "context", src: "{{context.${step}}}"},
	{name: "campaign", src: "{{campaign.${api_id}}}/{{campaign.${dispatch_id}}}/{{campaign.${name}}}"},
	{name: "if on a custom attribute", src: "{% if custom_attribute.${plan} == 'pro' %}yes{% else %}no{% endif %}"},
	{name: "case", src: "{% case custom_attribute.${plan} %}{% when 'pro' %}P{% else %}O{% endcase %}"},
	{name: "unless", src: "{% unless custom_attribute.${vip} %}no{% else %}vip{% endunless %}"},
	{name: "plus on a numeric string", src: `{"n": {{ event_properties.${qty} | plus: 1 }}}`},
	{name: "plus on a missing value", src: `{"n": {{ event_properties.${nope} | plus: 1 }}}`},
	{name: "times on a float", src: "{{ custom_attribute.${score} | times: 2 }}"},
	{name: "assign", src: "{% assign x = ${first_name} %}{{ x | append: '!' | upcase }}"},
	{name: "for over an array", src: "{% assign ts = custom_attribute.${tags} %}{% for t in ts %}[{{t}}]{% endfor %}"},
	{name: "join", src: "{{ custom_attribute.${tags} | join: ', ' }}"},
	{name: "hash output", src: "{{ custom_attribute.${address} }}"},
	{name: "property_accessor", src: "{{ custom_attribute.${address} | property_accessor: 'city' }}"},
	{name: "digests", src: "{{ 'sample' | md5 }} {{ 'sample' | sha1 }} {{ 'sample' | sha2 }}"},
	{name: "url_param_escape", src: "{{ 'a b<>&=/é' | url_param_escape }}"},
	{name: "url_escape", src: "{{ 'https://x.io/a b?q=1&r=<>' | url_escape }}"},
	{name: "json_escape", src: `{"name": "{{ 'O"Brien \ new' | json_escape }}"}`},
	{name: "number_with_delimiter", src: "{{ custom_attribute.${big} | number_with_delimiter }}"},
	{name: "abort with a reason", src: "a{% if custom_attribute.${vip} %}{% abort_message('vip') %}{% endif %}b"},

	{name: "default on an empty string", src: "{{ custom_attribute.${empty_s} | default: 'there' }}",
		differs: `brazejs keeps ""; Ruby Liquid's default, which Braze runs, treats "" as blank (R3)`},
	{name: "plus on a non-numeric string", src: "{{ event_properties.${bad} | plus: 1 }}",
		differs: `brazejs gives NaN; Ruby Liquid converts "abc" to 0, so the result is 1 (R5)`},
	{name: "abort without a reason", src: "{% abort_message() %}",
		differs: `brazejs says "message is aborted"; Braze logs "{% abort_message %} called"`},
	{name: "array output", src: "{{ custom_attribute.${tags} }}",
		differs: `brazejs prints ["a", "b"]; Ruby Liquid 5, which Braze runs, joins the elements: ab`},
	{name: "integer division", src: "{{ 7 | divided_by: 2 }}",
		differs: "brazejs divides as JavaScript does (3.5); Ruby Liquid divides integers to 3"},
	{name: "name with a space", src: "{{ custom_attribute.${Favorite Color} }}",
		differs: "brazejs's tokenizer cannot read a name with a space; Braze can"},
	{name: "for over ${}", src: "{% for t in custom_attribute.${tags} %}[{{t}}]{% endfor %}",
		differs: "brazejs's for tag cannot read ${...}; Braze can"},
	{name: "path after ${}", src: "{{ custom_attribute.${address}.city }}",
		differs: "brazejs drops the path after ${...}; Braze follows it"},
}

type oracleResult struct {
	Out   *string `json:"out"`
	Abort *string `json:"abort"`
	Error *string `json:"error"`
}

// TestOracleAgrees renders oracleCases through brazejs and through this
// package and requires the same output.
func TestOracleAgrees(t *testing.T) {
	node := requireOracle(t)
	d := testData()
	scope := d.scope()

	var cases []oracleCase
	var input []map[string]any
	for _, c := range oracleCases {
		if c.differs != "" {
			continue
		}
		cases = append(cases, c)
		input = append(input, map[string]any{"template": c.src, "context": scope})
	}
	results := runOracle(t, node, input)

	for i, c := range cases {
		want := results[i]
		got, err := renderRaw(t, c.src, d)
		var abort *AbortError
		switch {
		case want.Out != nil && (err != nil || got != *want.Out):
			t.Errorf("%s: %s\n got %q, %v\nbrazejs %q", c.name, c.src, got, err, *want.Out)
		case want.Abort != nil && (!errors.As(err, &abort) || abort.Reason != *want.Abort):
			t.Errorf("%s: %s\n got %q, %v\nbrazejs aborts with %q", c.name, c.src, got, err, *want.Abort)
		case want.Error != nil:
			t.Errorf("%s: brazejs failed: %s", c.name, *want.Error)
		}
	}
}

// requireOracle returns the node binary, or skips the test when brazejs is
// not installed, unless HOOKFLOW_REQUIRE_ORACLE=1 makes that a failure.
func requireOracle(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		msg := why + "; run `npm ci --prefix render/testdata/oracle`"
		if os.Getenv("HOOKFLOW_REQUIRE_ORACLE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(filepath.Join(oracleDir, "node_modules", "brazejs")); err != nil {
		missing("brazejs is not installed in " + oracleDir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	return node
}

func runOracle(t *testing.T, node string, input []map[string]any) []oracleResult {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "render.js")
	cmd.Dir = oracleDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("brazejs: %v\n%s", err, stderr.String())
	}
	var results []oracleResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(input) {
		t.Fatalf("brazejs gave %d results for %d cases (%v): %s", len(results), len(input), err, out)
	}
	return results
}
