package session

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"

	"github.com/sodp-go/client/internal/wire"
)

// Frames over the size limit. A server sends a key's whole value in its
// STATE_INIT, and a write that replaces much of a value comes back as a
// DELTA about as large; every known server lets a value grow past its own
// inbound limit through small writes (state.set_in, state.patch). So a
// frame too large to take must cost what it concerns, not the connection:
// the reader reads a message into memory only up to the read limit; past
// it, it reads on just enough to learn the frame's type, stream id and key
// or call id (wire.ReadHeader, which keeps nothing else), discards the rest
// unbuffered, and hands the actor a frameTooLarge. A message within the
// limit whose values would take more than costFactor times the limit once
// decoded is refused the same way before it is decoded
// (wire.DecodeWithin). The actor (onTooLarge) then ends the subscriptions
// of the key with an error matching ErrTooLarge and stops watching it, or
// fails the call the RESULT answers, and the connection and every other
// key go on. Only a HELLO or AUTH_OK over the limit ends the connection:
// without it the session cannot start.

const (
	// DefaultMaxInbound is the read limit when no MaxMessageSize is
	// configured: eight times the largest message the TypeScript and Rust
	// servers accept (1 MiB), so that a value written whole comes back
	// with room to grow.
	DefaultMaxInbound = 8 << 20
	// costFactor bounds the memory a frame may take once decoded: at most
	// this many times the read limit.
	costFactor = 16
)

// readLimit is the size limit for one incoming message.
func (s *Session) readLimit() int64 {
	if s.limitDefault {
		return DefaultMaxInbound
	}
	return min(s.cfg.MaxMessageSize, math.MaxInt64/costFactor)
}

// frameTooLarge describes a message the reader did not decode because it
// is over the read limit (cost 0) or its values would take more than
// costLimit once decoded. It travels to the actor as a frameIn's err.
type frameTooLarge struct {
	hdr       wire.Header
	hdrErr    error // why the header could not be read in full; nil when it was
	size      int64 // bytes of the message
	limit     int64 // the read limit
	cost      int64 // estimated bytes once decoded, when that is what is over
	costLimit int64
}

func (e *frameTooLarge) Error() string { return "sodp: message too large: " + e.describe("") }
func (e *frameTooLarge) Unwrap() error { return ErrTooLarge }

// describe says what is over which limit; of names what the frame
// concerns ("of key k"), or is empty.
func (e *frameTooLarge) describe(of string) string {
	what := "a message that does not start like a frame"
	if e.hdr.Typed {
		what = e.hdr.Type.String()
		if of == "" {
			of = fmt.Sprintf("on stream %d", e.hdr.Stream)
		}
	}
	if of != "" {
		what += " " + of
	}
	if e.cost > 0 {
		return fmt.Sprintf("%s (%d bytes) would take about %d bytes once decoded, over the bound of %d (%d times the %d-byte read limit, WithMaxMessageSize)",
			what, e.size, e.cost, e.costLimit, costFactor, e.limit)
	}
	return fmt.Sprintf("%s is %d bytes, over the %d-byte read limit (WithMaxMessageSize)", what, e.size, e.limit)
}

// readTooLarge learns the header of a message over the read limit, whose
// first bytes are prefix and whose rest is still to be read from rest, and
// discards the rest without keeping it. err is a read error of the
// connection.
func readTooLarge(prefix []byte, rest io.Reader, limit int64) (tl *frameTooLarge, err error) {
	cr := &countingReader{r: rest}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(prefix), cr), 512)
	hdr, herr := wire.ReadHeader(br)
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, err
	}
	return &frameTooLarge{hdr: hdr, hdrErr: herr, size: int64(len(prefix)) + cr.n, limit: limit}, nil
}

// tooCostly describes a message within the read limit whose values would
// take too much memory once decoded (de wraps wire.ErrTooCostly).
func tooCostly(data []byte, de *wire.DecodeError, limit int64) *frameTooLarge {
	hdr, herr := wire.ReadHeader(bytes.NewReader(data))
	return &frameTooLarge{hdr: hdr, hdrErr: herr, size: int64(len(data)), limit: limit, cost: de.Cost, costLimit: costFactor * limit}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// onTooLarge handles a frame over the size limit (see the comment at the
// top of this file).
func (s *Session) onTooLarge(tl *frameTooLarge) {
	s.stats.decodeErrors.Add(1)
	h := tl.hdr
	if !h.Typed {
		s.reportErr(fmt.Errorf("%w: %s; ignored (%v)", ErrTooLarge, tl.describe(""), tl.hdrErr))
		return
	}
	switch h.Type {
	case wire.TypeHello, wire.TypeAuthOK:
		s.dropConn(fmt.Errorf("%w: %s; the session cannot start without it", ErrTooLarge, tl.describe("")))
		return
	case wire.TypeError:
		// Attributed like any ERROR, with what could be read of it.
		s.onError(wire.Frame{Type: h.Type, Stream: h.Stream}, &wire.Error{Code: h.Code,
			Message: fmt.Sprintf("(message not read: %s)", tl.describe(""))})
		return
	case wire.TypeHeartbeat:
		s.reportErr(fmt.Errorf("%w: %s; taken as a HEARTBEAT", ErrTooLarge, tl.describe("")))
		s.onHeartbeat()
		return
	}
	if s.ph != phLive {
		s.reportErr(fmt.Errorf("%w: %s, before the session is live; ignored", ErrTooLarge, tl.describe("")))
		return
	}
	switch h.Type {
	case wire.TypeStateInit, wire.TypeDelta:
		s.keyFrameTooLarge(tl)
	case wire.TypeResult:
		s.resultTooLarge(tl)
	default:
		s.reportErr(fmt.Errorf("%w: %s; ignored", ErrTooLarge, tl.describe("")))
	}
}

// keyFrameTooLarge handles a STATE_INIT or DELTA over the limit: the key it
// belongs to can no longer be kept, so its subscriptions end and it is no
// longer watched; a later Watch of it tries again.
func (s *Session) keyFrameTooLarge(tl *frameTooLarge) {
	h := tl.hdr
	key := s.keyFor(h.Key, h.Stream)
	if key == "" {
		s.reportErr(fmt.Errorf("%w: %s names no key the client knows; ignored", ErrTooLarge, tl.describe("")))
		return
	}
	ks := s.keys[key]
	if h.Type == wire.TypeStateInit || ks != nil && ks.phase == kpResuming {
		// It answers the key's WATCH or RESUME, as the frame would have.
		s.answer(key)
	}
	err := fmt.Errorf("%w: %s", ErrTooLarge, tl.describe("of key "+key))
	if ks == nil {
		// Like any frame of a key no one watches (one still in flight
		// after its UNWATCH, say): nothing is kept.
		s.log.Debug("sodp: frame over the size limit for a key not watched", "err", err)
		return
	}
	if h.Type == wire.TypeDelta && ks.phase != kpLive && ks.phase != kpResuming {
		// Like any DELTA before the key's STATE_INIT: the value that comes
		// with the STATE_INIT holds it.
		s.reportErr(fmt.Errorf("%w; the key's next STATE_INIT holds the change", err), "key", key)
		return
	}
	err = fmt.Errorf("%w; %s is no longer watched", err, key)
	s.reportErr(err, "key", key)
	s.endKey(ks, err)
}

// endKey ends every subscription of ks with err (a subscription of
// several keys gets a KindRefused update for this one and goes on with
// the others), drops the key and its copy, and tells the server to stop
// sending it if it sends it. A frame over the limit and a refusal of the
// key (keyRefused) both end a key this way.
func (s *Session) endKey(ks *keyState, err error) {
	unwatch := ks.onServer()
	for sub := range ks.subs.all() {
		sub.refused++
		if int(sub.refused) == len(sub.Keys) {
			sub.Mailbox.EndAfterDrain(err)
			s.detachSub(sub, false)
			continue
		}
		s.deliver(sub, Delivery{Key: ks.key, Kind: KindRefused, Err: err})
		ks.subs.remove(sub)
	}
	if s.keys[ks.key] == ks {
		s.dropKey(ks, err)
	}
	if unwatch {
		s.sendUnwatch([]string{ks.key})
	}
	s.publishGauges()
}

// resultTooLarge fails the call a RESULT over the limit answers.
func (s *Session) resultTooLarge(tl *frameTooLarge) {
	id := tl.hdr.CallID
	pc := s.takeAnswered(id)
	if pc == nil || pc.finished {
		of := "for no waiting call"
		if id != "" {
			of = fmt.Sprintf("for call %s, which no one waits for", id)
		}
		s.reportErr(fmt.Errorf("%w: %s; ignored", ErrTooLarge, tl.describe(of)))
		return
	}
	of := "of call " + pc.method
	if pc.key != "" {
		of += " on " + pc.key
	}
	pc.finish(nil, fmt.Errorf("%w: %s (the server answered the call; its result was not read)", ErrTooLarge, tl.describe(of)))
}
