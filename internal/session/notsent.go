package session

import (
	"context"
	"fmt"
)

// A call whose context ends before the actor started sending its CALL frame
// was not sent: its error says so, and why it waited, rather than that no
// answer came.

// notSent is the error of a call method whose ctx ended before its frame
// was queued. timeout, when set, is the cause of the client's call timeout.
// It matches ctx's error and, when the client is not connected and a
// connection attempt failed, that attempt's error.
func (s *Session) notSent(method string, timeout error, ctx context.Context) error {
	ctxErr := ctx.Err()
	why := "the server had not answered earlier requests"
	if timeout != nil && context.Cause(ctx) == timeout {
		why += fmt.Sprintf(" within the client's call timeout (%s, WithCallTimeout)", s.cfg.CallTimeout)
	}
	st, last := s.pub.stateAndLast()
	if st != StateLive {
		why = "the client was not connected"
		if timeout != nil && context.Cause(ctx) == timeout {
			why = fmt.Sprintf("the client was not connected within the call timeout (%s, WithCallTimeout)", s.cfg.CallTimeout)
		}
		if last != nil {
			why += " (last connection attempt: " + Detail(last) + ")"
			return &withCause{msg: fmt.Sprintf("sodp: call %s: not sent: %s: %s", method, why, ctxErr), primary: ctxErr, cause: last}
		}
	}
	return fmt.Errorf("sodp: call %s: not sent: %s: %w", method, why, ctxErr)
}
