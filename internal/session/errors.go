package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// notWatched is the error a WaitVersion on key gets when the key's last
// subscription ends with why: ErrClosed when the client closes (closing);
// why itself when it is an error of the key or of the session (a server's
// refusal, ErrSlowConsumer, a terminal failure such as ErrUnauthorized);
// and, when the subscription was closed by its owner or its context ended,
// ErrNotCached, as for a key no subscription watches.
func notWatched(key string, why error, closing bool) error {
	switch {
	case closing:
		return ErrClosed
	case why == nil || errors.Is(why, ErrClosed) || errors.Is(why, context.Canceled) || errors.Is(why, context.DeadlineExceeded):
		return fmt.Errorf("%w (WaitVersion on %s): its last subscription ended", ErrNotCached, key)
	}
	return why
}

// Detail returns err's message without the "sodp: " prefix, for messages
// that embed it after their own prefix.
func Detail(err error) string { return strings.TrimPrefix(err.Error(), "sodp: ") }

// Wrap returns an error reading "sodp: what: " and err's message (without
// a second "sodp: "), that unwraps to err.
func Wrap(err error, what string) error {
	return &wrapped{msg: "sodp: " + what + ": " + Detail(err), err: err}
}

type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// withCause reads as primary's message with cause's detail in
// parentheses, and matches both.
type withCause struct {
	msg            string
	primary, cause error
}

func (e *withCause) Error() string   { return e.msg }
func (e *withCause) Unwrap() []error { return []error{e.primary, e.cause} }
