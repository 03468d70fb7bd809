package hostgate

import "time"

// window counts events in a sliding window of whole seconds. Second s
// counts into buckets[s mod len]; a bucket is emptied when the window's end
// moves past it. The running total covers the seconds (head-len, head], so
// adding and counting cost O(1) amortised, and memory is one int per second
// of the window.
type window struct {
	buckets []int
	head    int64 // the latest second advanced to
	total   int
}

// add counts one event at now.
func (w *window) add(now time.Time, size int) {
	if w.buckets == nil {
		// Allocated on the first failure: most hosts never fail.
		w.buckets = make([]int, size)
		w.head = now.Unix()
	}
	sec := w.advance(now)
	w.buckets[w.index(sec)]++
	w.total++
}

// count returns the events in the window ending at now.
func (w *window) count(now time.Time) int {
	if w.buckets == nil {
		return 0
	}
	w.advance(now)
	return w.total
}

// reset forgets every event.
func (w *window) reset() {
	w.buckets = nil
	w.head = 0
	w.total = 0
}

// advance moves the window's end to now's second, dropping the seconds
// that fall out, and returns the second events at now belong to. A clock
// that steps back counts into the latest second rather than the past.
func (w *window) advance(now time.Time) int64 {
	sec := now.Unix()
	if sec <= w.head {
		return w.head
	}

	size := int64(len(w.buckets))
	if sec-w.head >= size {
		clear(w.buckets)
		w.total = 0
	} else {
		for s := w.head + 1; s <= sec; s++ {
			i := w.index(s)
			w.total -= w.buckets[i]
			w.buckets[i] = 0
		}
	}
	w.head = sec
	return sec
}

func (w *window) index(sec int64) int {
	size := int64(len(w.buckets))
	return int(((sec % size) + size) % size)
}
