// Package testutil holds the helpers the tests of this module share. It
// imports sodp, so the internal tests of the packages sodp is built on
// (package session, wire, delta) cannot use it.
package testutil

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
)

// Dialects returns the four server dialects, the specification's first.
func Dialects() []sodp.Dialect {
	return []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo, sodp.DialectTS, sodp.DialectRust}
}

// SyncBuffer is a bytes.Buffer safe for a writer (a logger, a program's
// output) and a reader (the test) at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines returns what was written so far split into lines, without the
// final newline.
func (s *SyncBuffer) Lines() []string {
	return strings.Split(strings.TrimSuffix(s.String(), "\n"), "\n")
}

// Eventually polls cond every few milliseconds until it holds, and fails
// the test naming what when it still does not hold after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	EventuallyWhy(t, timeout, what, func() (bool, string) { return cond(), "" })
}

// EventuallyWhy is Eventually for a condition that says why it does not
// hold yet: the failure reports the last reason it gave.
func EventuallyWhy(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if why != "" {
				t.Fatalf("timed out waiting for %s: %s", what, why)
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
