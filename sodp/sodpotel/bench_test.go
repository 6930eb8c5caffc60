//go:build unix

package sodpotel_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/firehose"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodpotel"
)

type benchFlat struct {
	F0 string  `msgpack:"f0"`
	F1 int64   `msgpack:"f1"`
	F2 float64 `msgpack:"f2"`
	F3 int64   `msgpack:"f3"`
	F4 bool    `msgpack:"f4"`
	F5 string  `msgpack:"f5"`
	F6 int64   `msgpack:"f6"`
	F7 float64 `msgpack:"f7"`
	F8 int64   `msgpack:"f8"`
	F9 string  `msgpack:"f9"`
}

// BenchmarkFirehose sends b.N DELTAs (a flat value of ten fields, one
// UPDATE op each) to one buffered subscriber, without instrumentation and
// with sodpotel installed on SDK providers (a manual reader collecting
// every 10,000 updates): the instrumentation does
// nothing per update. cpu-ns/op is the CPU time of the whole process
// (client and in-process server) per update.
func BenchmarkFirehose(b *testing.B) {
	b.Run("none", func(b *testing.B) { benchFirehose(b, nil) })
	b.Run("sodpotel", func(b *testing.B) {
		tel := newTelemetry(b)
		benchFirehose(b, tel, tel.option())
	})
}

func benchFirehose(b *testing.B, tel *telemetry, opts ...sodp.Option) {
	initial := map[string]any{
		"f0": "name", "f1": int64(1), "f2": 1.5, "f3": int64(0), "f4": true,
		"f5": "some text", "f6": int64(1000), "f7": 3.25, "f8": int64(-1), "f9": "last field",
	}
	f, err := firehose.Start(firehose.Shape{Initial: initial, Path: "/f3"}, firehose.Options{Batch: 256, Count: b.N})
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
	n := 0
	for u := range sub.Updates() {
		if n++; tel != nil && n%10000 == 0 {
			tel.collect(b)
		}
		if u.Version >= last {
			break
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	if err := sub.Err(); err != nil {
		b.Fatal(err)
	}
	if tel != nil {
		if v, _ := tel.collect(b).value("sodp.client.updates", sodpotel.AttrKind.String("delta")); v != int64(b.N) {
			b.Fatalf("%d deltas counted, want %d", v, b.N)
		}
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
