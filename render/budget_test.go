package render

import (
	"errors"
	"strings"
	"testing"
)

// A template that loops out more than the budget fails that render quickly,
// with a reason, instead of eating memory.
func TestRenderBudget(t *testing.T) {
	bomb := "{% for i in (1..3000) %}{% for j in (1..3000) %}0123456789{% endfor %}{% endfor %}"
	_, err := renderRaw(t, bomb, testData())
	var rerr *Error
	if !errors.As(err, &rerr) || rerr.Reason != errRenderTooLarge.Error() || rerr.Part != "webhook.body_raw" {
		t.Fatalf("bomb: %v; want *Error %q on webhook.body_raw", err, errRenderTooLarge)
	}

	// Just under the budget still renders.
	fits := "{% for i in (1..1000) %}" + strings.Repeat("x", 1000) + "{% endfor %}"
	out, err := renderRaw(t, fits, testData())
	if err != nil || len(out) != 1000*1000 {
		t.Fatalf("1,000,000 bytes: %d bytes, %v", len(out), err)
	}
}

// A content block's output counts once against the budget, however deeply
// it is included.
func TestBudgetCountsBlocksOnce(t *testing.T) {
	big := strings.Repeat("x", 600<<10)
	blocks := map[string]string{"big": big, "outer": "{{content_blocks.${big}}}"}
	d := testData()
	d.Blocks = func(name string) (string, bool) { s, ok := blocks[name]; return s, ok }
	out, err := renderRaw(t, "{{content_blocks.${outer}}}", d)
	if err != nil || len(out) != len(big) {
		t.Fatalf("600 KiB block included twice deep: %d bytes, %v", len(out), err)
	}
}
