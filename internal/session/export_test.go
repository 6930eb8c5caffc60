package session

import (
	"context"
	"testing"
)

// Hooks for the external tests of this package (package session_test),
// which run against sodptest: sodptest imports sodp, which imports this
// package, so those tests cannot live in package session.

// MaxAbandonedCalls is maxAbandonedCalls.
const MaxAbandonedCalls = maxAbandonedCalls

// HeldKeys returns, from the actor, how many stream ids are mapped and how
// many keys are held.
func (s *Session) HeldKeys(t testing.TB) (streams, keys int) {
	t.Helper()
	if err := s.do(context.Background(), func() { streams, keys = s.streams.len(), len(s.keys) }); err != nil {
		t.Fatal(err)
	}
	return streams, keys
}

// WaitingCalls returns, from the actor, how many calls wait in the request
// FIFO and how many bytes of arguments they still hold.
func (s *Session) WaitingCalls(t testing.TB) (calls, held int) {
	t.Helper()
	err := s.do(context.Background(), func() {
		for _, r := range s.reqs.list {
			if r.kind == reqCall {
				calls++
				held += len(r.call.body)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls, held
}

// WaitingRequests returns, from the actor, how many WATCH/RESUME/CALL
// requests wait for their answer and how many WATCH/RESUME requests wait
// to be sent.
func (s *Session) WaitingRequests(t testing.TB) (sent, queued int) {
	t.Helper()
	if err := s.do(context.Background(), func() { sent, queued = len(s.reqs.list), s.reqQueue.len() }); err != nil {
		t.Fatal(err)
	}
	return sent, queued
}
