package main

import (
	"context"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// mem is a memory reading, or a difference of two, or a difference per
// unit.
type mem struct {
	rss        float64 // resident set size in bytes (NaN where unknown)
	heap       float64 // heap objects plus goroutine stacks in bytes
	goroutines float64
}

// sampleMem collects garbage, returns freed memory to the OS and reads the
// process's memory use.
func sampleMem() mem {
	runtime.GC()
	debug.FreeOSMemory()
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(s)
	return mem{
		rss:        readRSS(),
		heap:       float64(s[0].Value.Uint64() + s[1].Value.Uint64()),
		goroutines: float64(runtime.NumGoroutine()),
	}
}

func readRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return math.NaN()
}

func (a mem) sub(b mem) mem {
	return mem{rss: a.rss - b.rss, heap: a.heap - b.heap, goroutines: a.goroutines - b.goroutines}
}

func (a mem) div(n int) mem {
	f := float64(n)
	return mem{rss: a.rss / f, heap: a.heap / f, goroutines: a.goroutines / f}
}

// settle gives goroutines started just before a reading time to park.
func settle(ctx context.Context) error { return sleepCtx(ctx, 100*time.Millisecond) }

// allocated is the total of bytes allocated on the heap so far.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
