package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// result is what one scenario measured: rows to print, and the values the
// bars are judged on.
type result struct {
	name   string
	rows   [][2]string
	values map[string]float64
	proc   procStats
	err    error
}

func (r *result) add(measure, value string) { r.rows = append(r.rows, [2]string{measure, value}) }

// Keys of result.values.
const (
	keyIntake    = "intake_events_per_s"
	keyE2E       = "e2e_deliveries_per_s"
	keyP99       = "p99_ms"
	keyBroadcast = "broadcast_s"
	keyRate      = "offered_events_per_s"
)

// bar is one line of issue 6's table of targets.
type bar struct {
	measure string
	target  string
	// judge returns the measured value as text and whether it passes; ok is
	// false when the scenarios it needs did not run.
	judge func(rs map[string]*result) (value string, pass, ok bool)
}

func value(rs map[string]*result, scenario, key string) (float64, bool) {
	r, ok := rs[scenario]
	if !ok || r.err != nil {
		return 0, false
	}
	v, ok := r.values[key]
	return v, ok
}

func atLeast(scenario, key, unit string, min float64) func(map[string]*result) (string, bool, bool) {
	return func(rs map[string]*result) (string, bool, bool) {
		v, ok := value(rs, scenario, key)
		return fmt.Sprintf("%.0f%s", v, unit), v >= min, ok
	}
}

func atMost(scenario, key, format string, max float64) func(map[string]*result) (string, bool, bool) {
	return func(rs map[string]*result) (string, bool, bool) {
		v, ok := value(rs, scenario, key)
		return fmt.Sprintf(format, v), v <= max, ok
	}
}

var bars = []bar{
	{"end-to-end deliveries/s, SQLite", "≥ 10,000", atLeast("e2e", keyE2E, "", 10000)},
	{"p99 event accepted → webhook received at 1,000 events/s", "≤ 50 ms", p99At1000},
	{"intake, events/s", "≥ 75,000", atLeast("intake", keyIntake, "", 75000)},
	{"broadcast to 100,000 users, all enqueued", "≤ 5 s", atMost("broadcast", keyBroadcast, "%.2f s", 5)},
	{"peak RSS during any scenario", "≤ 200 MB", peakRSS},
	{"healthy endpoint's p99 with bad neighbours / alone", "≤ 1.5×", neighbourRatio},
}

func p99At1000(rs map[string]*result) (string, bool, bool) {
	if r, ok := rs["e2e-1000"]; ok && r.values[keyRate] != 1000 {
		return "", false, false
	}
	return atMost("e2e-1000", keyP99, "%.1f ms", 50)(rs)
}

func peakRSS(rs map[string]*result) (string, bool, bool) {
	var peak int64
	var where string
	for name, r := range rs {
		if r.proc.PeakRSS > peak {
			peak, where = r.proc.PeakRSS, name
		}
	}
	mb := float64(peak) / 1e6
	return fmt.Sprintf("%.1f MB (%s)", mb, where), mb <= 200, peak > 0
}

func neighbourRatio(rs map[string]*result) (string, bool, bool) {
	alone, ok1 := value(rs, "e2e-1000", keyP99)
	with, ok2 := value(rs, "neighbours", keyP99)
	if !ok1 || !ok2 || alone == 0 {
		return "", false, false
	}
	ratio := with / alone
	return fmt.Sprintf("%.1f ms / %.1f ms = %.2f×", with, alone, ratio), ratio <= 1.5, true
}

// saturated reports whether a passing neighbours comparison says nothing:
// when the healthy endpoint alone already misses its own latency bar,
// Hookflow was saturated by the load itself, and both p99s may measure that
// queue rather than how well the neighbours are kept apart. (A failing
// ratio still fails: a saturated baseline can hide harm, not make it.)
func saturated(rs map[string]*result) bool {
	alone, ok := value(rs, "e2e-1000", keyP99)
	return ok && alone > 50
}

// printResult prints one scenario as a Markdown table.
func printResult(w io.Writer, r *result) {
	fmt.Fprintf(w, "\n### %s\n\n| measure | value |\n| --- | --- |\n", r.name)
	for _, row := range r.rows {
		fmt.Fprintf(w, "| %s | %s |\n", row[0], row[1])
	}
	if r.err != nil {
		fmt.Fprintf(w, "| **error** | %s |\n", strings.ReplaceAll(r.err.Error(), "\n", " "))
	}
}

// printBars prints the overall table against issue 6's bars.
func printBars(w io.Writer, rs map[string]*result, backend string) {
	fmt.Fprintf(w, "\n### against the bars\n\n| measure | bar | measured | verdict |\n| --- | --- | --- | --- |\n")
	for _, b := range bars {
		v, pass, ok := b.judge(rs)
		verdict := "FAIL"
		switch {
		case !ok:
			v, verdict = "—", "not run"
		case b.target == "≤ 1.5×" && pass && saturated(rs):
			verdict = "inconclusive: Hookflow saturated without neighbours (p99 alone > 50 ms); rerun with a lower -rate"
		case pass:
			verdict = "PASS"
		}
		measure := strings.ReplaceAll(b.measure, "SQLite", backend)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", measure, b.target, v, verdict)
	}
	printControl(w, rs)
}

// printControl prints, when neighbours-good ran, the healthy endpoint's p99
// beside the same traffic with healthy neighbours: the part of the
// neighbours ratio that their volume explains, not their misbehaviour.
func printControl(w io.Writer, rs map[string]*result) {
	alone, ok1 := value(rs, "e2e-1000", keyP99)
	good, ok2 := value(rs, "neighbours-good", keyP99)
	if !ok1 || !ok2 || alone == 0 {
		return
	}
	fmt.Fprintf(w, "\nNot a bar: the healthy p99 beside healthy neighbours (neighbours-good) / alone: %.1f ms / %.1f ms = %.2f×",
		good, alone, good/alone)
	if bad, ok := value(rs, "neighbours", keyP99); ok && good > 0 {
		fmt.Fprintf(w, "; beside the bad ones / beside healthy ones: %.2f×", bad/good)
	}
	fmt.Fprintln(w)
}

// pct returns the p-th percentile (nearest rank) of xs; 100 is the max.
func pct(xs []int64, p float64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// never is the latency of a webhook that did not arrive before -drain ran
// out.
const never = math.MaxInt64

// ms formats nanoseconds as milliseconds.
func ms(ns int64) string {
	if ns == never {
		return "never (not delivered)"
	}
	return fmt.Sprintf("%.1f ms", float64(ns)/1e6)
}
