//go:build unix

package sodp_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/sodp-go/client/internal/testutil"
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
	testutil.BenchFirehose(b, nil, opts...)
}
