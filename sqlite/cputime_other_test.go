//go:build !unix

package sqlite_test

import (
	"testing"
	"time"
)

// cpuTime returns 0 where getrusage is missing, so cpu-ns/op reads 0 there.
func cpuTime(*testing.B) time.Duration { return 0 }
