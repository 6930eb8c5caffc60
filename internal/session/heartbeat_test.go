package session

import (
	"testing"
	"time"
)

// An inbound HEARTBEAT is an echo while one of ours waits for its echo,
// for half a heartbeat interval after the last went out; later, those
// are given up on and the HEARTBEAT is the server's own. The replay
// barrier's echo is waited for as long as the barrier is out.
func TestIsEcho(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const hb = 20 * time.Second
	cases := []struct {
		name             string
		sent, echoed     uint64
		barrier          uint64
		after            time.Duration
		echo             bool
		echoedAfterwards uint64
	}{
		{"nothing sent", 0, 0, 0, 0, false, 0},
		{"all echoed", 3, 3, 0, time.Second, false, 3},
		{"one waiting", 3, 2, 0, time.Second, true, 2},
		{"at the end of the wait", 3, 2, 0, hb / 2, true, 2},
		{"past the wait", 3, 1, 0, hb/2 + time.Millisecond, false, 3},
		{"barrier out, past the wait", 3, 1, 3, time.Hour, true, 1},
	}
	for _, c := range cases {
		s := &Session{cfg: Config{Heartbeat: hb}, hb: beats{sent: c.sent, echoed: c.echoed, at: t0}, bar: barrier{at: c.barrier}}
		if got := s.isEcho(t0.Add(c.after)); got != c.echo || s.hb.echoed != c.echoedAfterwards {
			t.Errorf("%s: isEcho %v, echoed %d afterwards; want %v, %d", c.name, got, s.hb.echoed, c.echo, c.echoedAfterwards)
		}
	}
}
