package sodptest

import (
	"time"

	"github.com/sodp-go/client/internal/wire"
)

// reorderHold is how long a held-back DELTA waits for the key's next one.
const reorderHold = 2 * time.Millisecond

// heldDelta is one DELTA frame for one connection.
type heldDelta struct {
	conn  *Conn
	frame wire.Frame
}

// reorderer holds back every n-th DELTA fan-out of a key until the key's
// next one has been queued (WithOutOfOrderDeltas). Guarded by the server's
// mu; the release goroutine takes it too.
type reorderer struct {
	every int
	count map[string]int
	held  map[string][]heldDelta
	kick  chan struct{}
	stop  chan struct{}
}

func newReorderer(every int) *reorderer {
	return &reorderer{
		every: every,
		count: make(map[string]int),
		held:  make(map[string][]heldDelta),
		kick:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
	}
}

func sendAll(l []heldDelta) {
	for _, h := range l {
		h.conn.sendFrame(h.frame)
	}
}

// fanout queues out, a key's DELTA for each watcher, or holds it back.
func (r *reorderer) fanout(key string, out []heldDelta) {
	if prev, ok := r.held[key]; ok {
		delete(r.held, key)
		sendAll(out)
		sendAll(prev)
		return
	}
	r.count[key]++
	if r.count[key]%r.every != 0 || len(out) == 0 {
		sendAll(out)
		return
	}
	r.held[key] = out
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// releaseLoop delivers DELTAs that no later change of their key released.
func (s *Server) releaseLoop() {
	defer s.wg.Done()
	r := s.reorder
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-r.kick:
		}
		t.Reset(reorderHold)
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		for key, l := range r.held {
			delete(r.held, key)
			sendAll(l)
		}
		s.mu.Unlock()
	}
}
