package testutil

import (
	"testing"
	"time"

	"github.com/sodp-go/client/sodp"
)

// Next returns the next update of sub, failing the test when its Updates
// closes or nothing arrives within timeout.
func Next[T any](t testing.TB, timeout time.Duration, sub *sodp.Subscription[T]) sodp.Update[T] {
	t.Helper()
	return NextUntil(t, timeout, sub, func(sodp.Update[T]) bool { return true })
}

// NextUntil reads updates of sub until one satisfies ok, failing the test
// when its Updates closes or none does within timeout.
func NextUntil[T any](t testing.TB, timeout time.Duration, sub *sodp.Subscription[T], ok func(sodp.Update[T]) bool) sodp.Update[T] {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case u, open := <-sub.Updates():
			if !open {
				t.Fatalf("Updates closed: %v", sub.Err())
			}
			if ok(u) {
				return u
			}
		case <-deadline:
			t.Fatalf("no matching update within %s", timeout)
		}
	}
}

// Closed reads sub until its Updates closes and returns Err, failing the
// test when it is still open after timeout.
func Closed[T any](t testing.TB, timeout time.Duration, sub *sodp.Subscription[T]) error {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case _, open := <-sub.Updates():
			if !open {
				return sub.Err()
			}
		case <-deadline:
			t.Fatalf("Updates not closed within %s", timeout)
		}
	}
}
