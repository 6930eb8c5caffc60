package sodptest

import (
	"errors"
	"fmt"

	"github.com/gorilla/websocket"
	"github.com/shamaton/msgpack/v2"

	"github.com/sodp-go/client/internal/wire"
)

// Frame is one message received from a client, decoded as far as possible.
type Frame struct {
	Type   uint8          // frame type (0x02 WATCH …); 0 when the header did not decode
	Name   string         // "WATCH", "CALL" …, "UNKNOWN(0x20)" for a reserved type, "" when undecodable
	Stream uint32         // stream id
	Seq    uint64         // the client's seq
	Body   map[string]any // normalised body; nil for a nil (or non-map) body
	Raw    []byte         // the message bytes as received
	Text   bool           // the message was a WebSocket text message
	Err    error          // why the message is not a well-formed frame; nil when it is
}

// decodeRecord decodes a received message generically, never panicking.
func decodeRecord(messageType int, data []byte) (f Frame) {
	f.Raw = append([]byte(nil), data...)
	f.Text = messageType == websocket.TextMessage
	defer func() {
		if r := recover(); r != nil {
			f.Err = fmt.Errorf("sodptest: undecodable message: %v", r)
		}
	}()
	var raw any
	if err := msgpack.Unmarshal(data, &raw); err != nil {
		f.Err = fmt.Errorf("sodptest: undecodable message: %w", err)
		return f
	}
	arr, ok := raw.([]any)
	if !ok || len(arr) != 4 {
		f.Err = errors.New("sodptest: message is not a 4-element array")
		return f
	}
	norm := func(v any) (uint64, bool) {
		n, err := wire.Normalize(v)
		if err != nil {
			return 0, false
		}
		switch x := n.(type) {
		case int64:
			return uint64(x), x >= 0
		case uint64:
			return x, true
		}
		return 0, false
	}
	t, ok1 := norm(arr[0])
	st, ok2 := norm(arr[1])
	seq, ok3 := norm(arr[2])
	if !ok1 || !ok2 || !ok3 || t > 0xff || st > 0xffffffff {
		f.Err = errors.New("sodptest: bad frame header")
		return f
	}
	f.Type, f.Stream, f.Seq = uint8(t), uint32(st), seq
	f.Name = wire.Type(f.Type).String()
	if arr[3] != nil {
		b, err := wire.Normalize(arr[3])
		if err != nil {
			f.Err = fmt.Errorf("sodptest: body: %w", err)
			return f
		}
		m, ok := b.(map[string]any)
		if !ok {
			f.Err = errors.New("sodptest: body is not a map")
			return f
		}
		f.Body = m
	}
	if f.Text {
		f.Err = errors.New("sodptest: text message")
	} else if !wire.Type(f.Type).Known() {
		f.Err = fmt.Errorf("sodptest: unknown frame type 0x%02x", f.Type)
	}
	return f
}
