package session

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sodp-go/client/internal/wire"
)

func encodeFrame(t *testing.T, typ wire.Type, stream uint32, body map[string]any) []byte {
	t.Helper()
	raw, err := wire.AppendValue(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.Encode(nil, wire.Frame{Type: typ, Stream: stream, Seq: 1, Body: wire.Raw(raw)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readTooLarge finds the key wherever it is, past the part already read
// into memory or not, counts the whole message and reads it to its end.
func TestReadTooLarge(t *testing.T) {
	big := strings.Repeat("v", 50_000)
	for _, tc := range []struct {
		name string
		data []byte
		key  string
	}{
		{"key first", encodeFrame(t, wire.TypeStateInit, 12, map[string]any{"state": "a.b", "value": big}), "a.b"},
		{"key past the prefix", encodeFrame(t, wire.TypeDelta, 12, map[string]any{"ops": []any{map[string]any{"op": "ADD", "path": "/", "value": big}}, "state": "z"}), "z"},
		{"no key", encodeFrame(t, wire.TypeDelta, 12, map[string]any{"version": 2, "ops": []any{map[string]any{"op": "ADD", "path": "/", "value": big}}}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const limit = 1024
			rest := bytes.NewReader(tc.data[limit+1:])
			tl, err := readTooLarge(tc.data[:limit+1], rest, limit)
			if err != nil {
				t.Fatal(err)
			}
			if tl.hdr.Key != tc.key || tl.hdr.Stream != 12 || !tl.hdr.Typed || tl.hdrErr != nil {
				t.Fatalf("header %+v (%v), want key %q on stream 12", tl.hdr, tl.hdrErr, tc.key)
			}
			if tl.size != int64(len(tc.data)) || rest.Len() != 0 {
				t.Fatalf("size %d with %d bytes left unread, want %d and none", tl.size, rest.Len(), len(tc.data))
			}
			if !errors.Is(tl, ErrTooLarge) || !strings.Contains(tl.Error(), "WithMaxMessageSize") {
				t.Fatalf("error %v", tl)
			}
		})
	}
}

// A read error of the connection while the rest is discarded is the
// connection's, not a frame's.
func TestReadTooLargeReadError(t *testing.T) {
	data := encodeFrame(t, wire.TypeStateInit, 12, map[string]any{"state": "k", "value": strings.Repeat("v", 5000)})
	broken := errors.New("connection reset")
	_, err := readTooLarge(data[:100], io.MultiReader(bytes.NewReader(data[100:200]), errReader{broken}), 99)
	if !errors.Is(err, broken) {
		t.Fatalf("err %v, want the read error", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestFrameTooLargeDescribe(t *testing.T) {
	over := &frameTooLarge{hdr: wire.Header{Type: wire.TypeDelta, Stream: 14, Typed: true}, size: 2000, limit: 1000}
	if got, want := over.describe("of key k"), "DELTA of key k is 2000 bytes, over the 1000-byte read limit (WithMaxMessageSize)"; got != want {
		t.Errorf("describe:\n got %s\nwant %s", got, want)
	}
	if got, want := over.describe(""), "DELTA on stream 14 is 2000 bytes"; !strings.HasPrefix(got, want) {
		t.Errorf("describe without a key: %s", got)
	}
	costly := &frameTooLarge{hdr: wire.Header{Type: wire.TypeStateInit, Stream: 10, Typed: true}, size: 900, limit: 1000, cost: 20000, costLimit: 16000}
	if got, want := costly.describe("of key k"), "STATE_INIT of key k (900 bytes) would take about 20000 bytes once decoded, over the bound of 16000 (16 times the 1000-byte read limit, WithMaxMessageSize)"; got != want {
		t.Errorf("describe:\n got %s\nwant %s", got, want)
	}
	garbage := &frameTooLarge{size: 5000, limit: 1000}
	if got := garbage.describe(""); !strings.HasPrefix(got, "a message that does not start like a frame is 5000 bytes") {
		t.Errorf("describe of an unreadable header: %s", got)
	}
}

// The read limit: 8 MiB by default, the configured size otherwise, capped
// so that 16 times it still fits an int64.
func TestReadLimit(t *testing.T) {
	for _, tc := range []struct {
		configured, want int64
	}{{0, DefaultMaxInbound}, {1000, 1000}, {1 << 62, (1<<63 - 1) / costFactor}} {
		s := &Session{limitDefault: tc.configured == 0, cfg: Config{MaxMessageSize: tc.configured}}
		if got := s.readLimit(); got != tc.want {
			t.Errorf("readLimit with %d configured: %d, want %d", tc.configured, got, tc.want)
		}
	}
}
