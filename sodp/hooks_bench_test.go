//go:build unix

package sodp_test

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/firehose"
	"github.com/sodp-go/client/sodp"
)

// BenchmarkHooksFirehose sends b.N DELTAs (flat10, one UPDATE op each)
// to one buffered subscriber, with no hooks and with every hook set (each
// counting their calls): the hooks cost nothing per update, since no
// hook is called per update (hook-calls/op is the number of hook calls
// per update, whatever b.N: a handful in all). cpu-ns/op is the CPU time
// of the whole process (client and the in-process server) per update.
func BenchmarkHooksFirehose(b *testing.B) {
	b.Run("none", func(b *testing.B) { benchFirehose(b) })
	b.Run("hooks", func(b *testing.B) {
		var n atomic.Int64
		count := func() { n.Add(1) }
		benchFirehose(b, sodp.WithHooks(sodp.Hooks{
			Opened: func(*sodp.Client) { count() }, Closed: func(*sodp.Client) { count() },
			Call:         func(context.Context, sodp.CallInfo) { count() },
			Connection:   func(sodp.ConnectionEvent) { count() },
			Resume:       func(sodp.ResumeEvent) { count() },
			Subscription: func(sodp.SubscriptionEvent) { count() },
			Dropped:      func(uint64) { count() },
		}))
		b.ReportMetric(float64(n.Load())/float64(b.N), "hook-calls/op")
	})
}

func benchFirehose(b *testing.B, opts ...sodp.Option) {
	f, err := firehose.Start(firehose.Shape{Initial: benchFlatValue(0), Path: "/f3"}, firehose.Options{Batch: 256, Count: b.N})
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
	sub, err := sodp.Watch[benchFlat](ctx, c, "bench.key", sodp.WithBuffer(b.N+16))
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
	cpu0 := processCPU()
	b.ResetTimer()
	f.Release()
	for u := range sub.Updates() {
		if u.Version >= last {
			break
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if err := sub.Err(); err != nil {
		b.Fatal(err)
	}
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
