//go:build unix

package sodpotel_test

import (
	"testing"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodpotel"
)

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
	var each func(int)
	if tel != nil {
		each = func(n int) {
			switch {
			case n == b.N:
				// The last update, read while the client is open (a closed
				// client's series are no longer reported).
				if v, _ := tel.collect(b).value("sodp.client.updates", sodpotel.AttrKind.String("delta")); v != int64(b.N) {
					b.Fatalf("%d deltas counted, want %d", v, b.N)
				}
			case n%10000 == 0:
				tel.collect(b)
			}
		}
	}
	testutil.BenchFirehose(b, each, opts...)
}
