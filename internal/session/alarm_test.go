package session

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestAlarmEarliest checks that an alarm fires at the earliest time it was
// set for, and is set again after it fired.
func TestAlarmEarliest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAlarm()
		defer a.stop()
		t0 := time.Now()
		a.set(t0.Add(2*time.Second), 2*time.Second)
		a.set(t0.Add(time.Second), time.Second)
		a.set(t0.Add(3*time.Second), 3*time.Second) // later: ignored
		now := <-a.C()
		if got := now.Sub(t0); got != time.Second {
			t.Fatalf("fired after %s, want 1s", got)
		}
		a.set(now.Add(5*time.Second), 5*time.Second) // ignored: the time it fired at holds until fired
		a.fired()
		a.set(now.Add(2*time.Second), 2*time.Second)
		if got := (<-a.C()).Sub(now); got != 2*time.Second {
			t.Fatalf("set again after firing: fired after %s, want 2s", got)
		}
	})
}
