package session

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkCancelQueuedCalls measures the actor's work when the callers
// of n queued calls leave at once, in random order (calls sharing one
// deadline while the client reconnects or the window is full): ns/call
// stays flat as n grows.
func BenchmarkCancelQueuedCalls(b *testing.B) {
	for _, n := range []int{25000, 100000, 200000} {
		b.Run(fmt.Sprintf("calls=%d", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, uint64(n)))
			for b.Loop() {
				b.StopTimer()
				s := &Session{ph: phBackoff, in: make(chan any, 1), calls: callTable{sent: map[string]*pendingCall{}}, presence: map[string]map[string]any{}}
				pcs := make([]*pendingCall, n)
				for i := range pcs {
					pcs[i] = &pendingCall{id: fmt.Sprint(i)}
					s.startCall(pcs[i])
				}
				r.Shuffle(n, func(i, j int) { pcs[i], pcs[j] = pcs[j], pcs[i] })
				b.StartTimer()
				for _, pc := range pcs {
					s.leave(pc) // the first posts cancelCalls on s.in
				}
				(<-s.in).(command).f()
				if s.calls.queued.len() != 0 {
					b.Fatalf("%d calls still queued", s.calls.queued.len())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/call")
		})
	}
}
