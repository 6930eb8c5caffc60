package session_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sodp-go/client/internal/session"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

type nopReceiver struct{}

func (nopReceiver) Deliver(session.Delivery, <-chan struct{}, <-chan struct{}) bool { return true }
func (nopReceiver) Finish(error)                                                    {}

// Watching keys and closing the subscriptions at once, against a server
// that answers nothing, leaves no request behind for each: once the
// window of requests in flight is full, a key still watched waits to be
// sent, and the WATCHes of keys watched and closed since do not pile up
// behind it.
func TestWatchCloseLeavesNoQueuedRequest(t *testing.T) {
	srv := sodptest.NewServer(sodptest.WithDialect(sodp.DialectTS))
	defer srv.Close()
	s := liveSession(t, srv)
	srv.Conns()[0].Pause()
	cycle := func(key string, close bool) {
		t.Helper()
		sub := &session.Subscriber{Keys: []string{key}, Receiver: nopReceiver{}}
		if err := s.Subscribe(context.Background(), sub, nil, 0, nil); err != nil {
			t.Fatal(err)
		}
		if close {
			s.Unsubscribe(sub, nil)
		}
	}
	for i := range 256 { // fills the window
		cycle(fmt.Sprintf("w%d", i), true)
	}
	cycle("live", false)
	const cycles = 2000
	for i := range cycles {
		cycle(fmt.Sprintf("k%d", i%10), true)
	}
	sent, queued := s.WaitingRequests(t)
	if queued > 1 {
		t.Errorf("after %d Watch/Close cycles behind a key waiting for the window: %d requests wait to be sent (%d in flight)", cycles, queued, sent)
	}
	if _, keys := s.HeldKeys(t); keys != 1 {
		t.Errorf("%d keys held, want 1", keys)
	}
}
