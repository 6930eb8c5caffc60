package sodptest

import (
	"cmp"
	"time"
)

// The TypeScript server checks its rate limit as soon as a WATCH or RESUME
// arrives and refuses the excess at once (ERROR 429 on stream 0), but
// answers the requests it accepted only after an asynchronous step
// (authorisation, loading the key): the refusals of a burst of requests
// reach the client before the STATE_INITs (and replays) of the requests
// it accepted in that burst, and an UNWATCH (handled at once) takes effect
// before them. DialectTS reproduces that order: the answers of accepted
// requests are held (Conn.late) until the connection's messages pause for
// burstGap, or until a CALL arrives (it is answered in its turn).

// burstGap is how long a pause between inbound messages ends a burst
// (config.burstGap, for tests of this package, overrides it).
const burstGap = 3 * time.Millisecond

// answer runs f, the handling of an accepted WATCH or RESUME, now or, for
// a dialect that answers late, once the current burst ends.
func (c *Conn) answer(f func()) {
	if !c.s.tr.lateAnswers {
		f()
		return
	}
	c.late = append(c.late, f)
}

// flushAnswers runs the held handlings in arrival order.
func (c *Conn) flushAnswers() {
	for len(c.late) > 0 {
		l := c.late
		c.late = nil
		for _, f := range l {
			f()
		}
	}
}

type inMessage struct {
	mt   int
	data []byte
	err  error
}

// readLoopLate is readLoop for a dialect that answers late: a goroutine
// reads the socket, and this one handles the messages and ends each
// burst.
func (c *Conn) readLoopLate() error {
	msgs := make(chan inMessage)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			mt, data, err := c.readMessage()
			select {
			case msgs <- inMessage{mt, data, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	wait := cmp.Or(c.s.cfg.burstGap, burstGap)
	gap := time.NewTimer(time.Hour)
	gap.Stop()
	defer gap.Stop()
	for {
		var m inMessage
		if len(c.late) == 0 {
			m = <-msgs
		} else {
			gap.Reset(wait)
			select {
			case m = <-msgs:
				gap.Stop()
			case <-gap.C:
				c.flushAnswers()
				continue
			}
		}
		if m.err != nil {
			return m.err
		}
		c.received(m.mt, m.data)
	}
}
