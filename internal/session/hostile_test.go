package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/session"
	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/sodp/sodptest"
)

func liveSession(t *testing.T, srv *sodptest.Server) *session.Session {
	t.Helper()
	s, err := session.New(session.Config{Endpoints: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFramesIn(t *testing.T, s *session.Session, n uint64) {
	t.Helper()
	testutil.EventuallyWhy(t, 5*time.Second, "the frames read", func() (bool, string) {
		got := s.Stats().FramesIn
		return got >= n, fmt.Sprintf("%d frames in, want %d", got, n)
	})
}

// STATE_INITs of keys no one watches leave nothing behind.
func TestUnsolicitedStateInitNotKept(t *testing.T) {
	srv := sodptest.NewServer()
	defer srv.Close()
	s := liveSession(t, srv)
	conn := srv.Conns()[0]
	before := s.Stats().FramesIn
	const n = 1000
	for i := range n {
		conn.Send(0x03, uint32(10+i), map[string]any{"state": fmt.Sprintf("never.watched_%d", i), "version": 1, "value": "x"})
	}
	waitFramesIn(t, s, before+n)
	if streams, keys := s.HeldKeys(t); streams != 0 || keys != 0 {
		t.Errorf("%d streams and %d keys kept", streams, keys)
	}
}

// Calls whose caller gave up release their arguments, and the
// placeholders they leave for a server that never answers are bounded.
func TestAbandonedCallsReleased(t *testing.T) {
	srv := sodptest.NewServer()
	defer srv.Close()
	s := liveSession(t, srv)
	srv.Conns()[0].Pause() // answers nothing from now on
	pad := strings.Repeat("x", 4<<10)
	const rounds, perRound = 4, 150
	for range rounds {
		var wg sync.WaitGroup
		for range perRound {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				if _, err := s.Call(ctx, session.CallSpec{Method: "state.set", Args: map[string]any{"state": "k", "value": pad}}); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("call: %v", err)
				}
			}()
		}
		wg.Wait()
	}
	// A call may time out before it is sent; enough were sent to pass the
	// bound.
	if n := s.Stats().CallsSent; n <= session.MaxAbandonedCalls {
		t.Fatalf("only %d calls sent", n)
	}
	if calls, held := s.WaitingCalls(t); calls > session.MaxAbandonedCalls || held != 0 {
		t.Errorf("%d abandoned calls wait, holding %d bytes of arguments", calls, held)
	}
}
