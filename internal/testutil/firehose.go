//go:build unix

package testutil

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/firehose"
	"github.com/sodp-go/client/sodp"
)

// BenchFirehose runs b.N flat10 updates from a firehose server through a
// client made with opts to a buffered typed subscriber, every update
// delivered, and reports the process's CPU time per update (cpu-ns/op).
// each, when not nil, is called with the count of updates read so far
// after each one.
func BenchFirehose(b *testing.B, each func(n int), opts ...sodp.Option) {
	f, err := firehose.Start(firehose.Shape{Initial: firehose.FlatValue(0), Path: "/f3"}, firehose.Options{Batch: 256, Count: b.N})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := sodp.Dial(ctx, f.URL, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	sub, err := sodp.Watch[firehose.Flat10](ctx, c, "bench.key", sodp.WithBuffer(b.N+16))
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	select {
	case <-sub.Updates():
	case <-time.After(10 * time.Second):
		b.Fatal("no snapshot within 10s")
	}
	last := uint64(b.N) + 1
	b.ReportAllocs()
	cpu0 := ProcessCPU()
	b.ResetTimer()
	f.Release()
	n := 0
	for u := range sub.Updates() {
		if n++; each != nil {
			each(n)
		}
		if u.Version >= last {
			break
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((ProcessCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if err := sub.Err(); err != nil {
		b.Fatal(err)
	}
}

// ProcessCPU is the user and system CPU time the process has used.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
