package session

import (
	"errors"
	"fmt"

	"github.com/sodp-go/client/internal/wire"
)

// onFrame dispatches one frame read from the current connection.
func (s *Session) onFrame(f wire.Frame, err error) {
	if tl, ok := err.(*frameTooLarge); ok {
		s.onTooLarge(tl)
		return
	}
	if f.Type == wire.TypeHello {
		h, _ := f.Body.(*wire.Hello)
		s.onHello(h, err)
		return
	}
	switch b := f.Body.(type) {
	case *wire.Error:
		b.Message = s.redactServer(b.Message)
	case *wire.Result:
		b.Message = s.redactServer(b.Message)
	}
	if err != nil {
		switch f.Body.(type) {
		case *wire.Error, *wire.Result:
			// A field had the wrong type; what could be read still
			// answers the request it belongs to.
			s.stats.decodeErrors.Add(1)
			s.reportErr(fmt.Errorf("%w: %w", ErrProtocol, err))
		default:
			s.onDecodeError(f, err)
			return
		}
	}
	switch b := f.Body.(type) {
	case *wire.AuthOK:
		s.onAuthOK(b)
		return
	case *wire.Error:
		s.onError(f, b)
		return
	case nil:
		if f.Type == wire.TypeHeartbeat {
			s.onHeartbeat()
			return
		}
	}
	if s.ph != phLive {
		if f.Type != wire.TypeHeartbeat {
			s.log.Debug("sodp: frame before the session is live", "type", f.Type)
		}
		return
	}
	switch b := f.Body.(type) {
	case *wire.StateInit:
		s.onStateInit(f, b)
	case *wire.Delta:
		s.onDelta(f, b)
	case *wire.Result:
		s.onResult(b)
	case nil:
		err := fmt.Errorf("%w: %s frame without a body", ErrProtocol, f.Type)
		s.reportErr(err)
		if f.Type == wire.TypeDelta || f.Type == wire.TypeStateInit {
			// The key's copy may have missed what the frame carried.
			if ks := s.keys[s.streams.key(f.Stream)]; ks != nil {
				if f.Type == wire.TypeStateInit {
					s.answer(ks.key)
				}
				s.resync(ks, err)
			}
		}
	default:
		s.reportErr(fmt.Errorf("%w: unexpected %s frame from the server", ErrProtocol, f.Type))
	}
}

// onDecodeError reports a frame that could not be decoded and, when it
// belonged to a key, re-synchronises that key: its copy may have missed a
// change.
func (s *Session) onDecodeError(f wire.Frame, err error) {
	s.stats.decodeErrors.Add(1)
	var de *wire.DecodeError
	if errors.As(err, &de) && errors.Is(err, wire.ErrUnknownType) {
		s.reportErr(fmt.Errorf("%w: %w", ErrProtocol, err))
		return
	}
	s.reportErr(fmt.Errorf("%w: %w", ErrProtocol, err))
	if s.ph != phLive || de == nil {
		return
	}
	if de.Type == wire.TypeDelta || de.Type == wire.TypeStateInit {
		key := s.keyFor(de.Key, de.Stream)
		if ks := s.keys[key]; ks != nil {
			if de.Type == wire.TypeStateInit {
				s.answer(key)
			}
			s.resync(ks, err)
		}
	}
}
