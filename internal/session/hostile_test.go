package session

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp/sodptest"
)

func liveSession(t *testing.T, srv *sodptest.Server) *Session {
	t.Helper()
	s, err := New(Config{Endpoints: []string{srv.URL}})
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

func waitFramesIn(t *testing.T, s *Session, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().FramesIn < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames in, want %d", s.Stats().FramesIn, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// onActor runs f on the actor.
func onActor(t *testing.T, s *Session, f func()) {
	t.Helper()
	if err := s.do(context.Background(), f); err != nil {
		t.Fatal(err)
	}
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
	onActor(t, s, func() {
		if len(s.streams) != 0 || len(s.keys) != 0 {
			t.Errorf("%d streams and %d keys kept", len(s.streams), len(s.keys))
		}
	})
}
