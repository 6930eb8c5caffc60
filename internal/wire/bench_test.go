package wire

import (
	"testing"

	"github.com/shamaton/msgpack/v2"

	"github.com/sodp-go/client/internal/delta"
)

var benchDelta = Frame{TypeDelta, 10, 42, &Delta{Version: 1234, State: "game.score",
	Ops: []delta.Op{{Op: delta.OpUpdate, Path: "/f3", Value: int64(7)}}}}

var benchStateInit = Frame{TypeStateInit, 10, 41, &StateInit{State: "game.score", Version: 1233, Initialized: true,
	Value: map[string]any{
		"f0": int64(0), "f1": int64(-1), "f2": int64(300), "f3": int64(7), "f4": "home team",
		"f5": 2.5, "f6": true, "f7": nil, "f8": "away team", "f9": int64(1 << 40),
	}}}

func BenchmarkDecodeDelta(b *testing.B) {
	data := mustEncode(b, benchDelta, EncodeOptions{})
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareUnmarshal decodes the same bytes as BenchmarkDecodeDelta
// into an untyped value with the MessagePack library, without checking or
// converting anything: what the bench's bare loop does with each frame.
func BenchmarkBareUnmarshal(b *testing.B) {
	data := mustEncode(b, benchDelta, EncodeOptions{})
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var v any
		if err := msgpack.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStateInit10(b *testing.B) {
	data := mustEncode(b, benchStateInit, EncodeOptions{})
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

var benchResult = Frame{TypeResult, 0, 7, &Result{CallID: "0b7e4a52-5c1f-4bde-9a53-2f1c7d0e8a61", Success: true,
	Data: map[string]any{"version": int64(1235)}}}

func BenchmarkDecodeResult(b *testing.B) {
	data := mustEncode(b, benchResult, EncodeOptions{})
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeCall(b *testing.B) {
	f := Frame{TypeCall, 0, 7, &Call{CallID: "0b7e4a52-5c1f-4bde-9a53-2f1c7d0e8a61", Method: "state.set_in",
		Args: map[string]any{"state": "game.score", "path": "/home", "value": int64(4)}}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Encode(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodeResume(b *testing.B) {
	f := Frame{TypeResume, 10, 8, &Resume{State: "game.score", SinceVersion: 1234}}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Encode(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
