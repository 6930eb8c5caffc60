package session

import (
	"fmt"
	"sync/atomic"
)

// callTable holds the session's calls from the moment a caller makes one
// to its answer: the ids it gives them, the calls waiting to be sent, the
// calls sent on the current connection, and the calls whose callers left.
// seq and left are used by callers' goroutines (lock-free); the rest is
// the actor's.
type callTable struct {
	seq atomic.Uint64 // numbers the calls
	pfx string        // the session's prefix of call ids, so that no two sessions' ids meet on a server
	// left is a stack of calls whose callers left: callers push (leave),
	// the actor takes them all (takeLeft).
	left      atomic.Pointer[pendingCall]
	sent      map[string]*pendingCall // sent on the current connection, by id
	queued    fifo[*pendingCall]      // waiting for a live session or a place in the window
	abandoned int                     // calls in the request FIFO whose callers left (see cancelCall)
}

// newID returns the id of a new call.
func (t *callTable) newID() string { return t.pfx + fmt.Sprint(t.seq.Add(1)) }

// pushLeft pushes pc, whose caller left, on the stack of such calls; it
// reports whether the stack was empty, in which case the caller must tell
// the actor to take it.
func (t *callTable) pushLeft(pc *pendingCall) (first bool) {
	for {
		top := t.left.Load()
		pc.nextLeft = top
		if t.left.CompareAndSwap(top, pc) {
			return top == nil
		}
	}
}

// takeLeft empties the stack of calls whose callers left and returns it,
// linked by nextLeft, the last pushed first.
func (t *callTable) takeLeft() *pendingCall { return t.left.Swap(nil) }

// waiting is how many calls are queued or sent and not answered.
func (t *callTable) waiting() int { return len(t.sent) + t.queued.len() }
