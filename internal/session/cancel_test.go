package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/session"
	"github.com/sodp-go/client/sodp/sodptest"
)

// Many calls that share one deadline against a server that answers
// nothing: once the deadline passes, none of the calls still queued is
// sent (their callers have left), and nothing of them is kept.
func TestMassCancelSendsNoAbandonedCall(t *testing.T) {
	srv := sodptest.NewServer()
	defer srv.Close()
	s := liveSession(t, srv)
	srv.Conns()[0].Pause() // answers nothing from now on
	const n = 5000
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Call(ctx, session.CallSpec{Method: "state.set", Args: map[string]any{"state": "k", "value": 1}}); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("call: %v", err)
			}
		}()
	}
	wg.Wait()
	calls, _ := s.WaitingCalls(t) // also waits for the actor to take every cancellation
	sent := s.Stats().CallsSent
	// At most a window of calls (256) can be in flight before the
	// deadline; a call whose caller has left is not sent.
	if sent > 256 {
		t.Errorf("%d calls sent to a server that answered none, with at most 256 waiting at once", sent)
	}
	if calls > session.MaxAbandonedCalls {
		t.Errorf("%d abandoned calls wait", calls)
	}
	if p := s.Stats().PendingCalls; p != 0 {
		t.Errorf("%d calls still pending", p)
	}
}
