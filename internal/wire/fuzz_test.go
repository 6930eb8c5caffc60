package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/shamaton/msgpack/v2"
	"github.com/shamaton/msgpack/v2/def"

	"github.com/sodp-go/client/internal/delta"
)

func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, tc := range roundTripFrames() {
		for _, os := range encodeOptionSets {
			seeds = append(seeds, mustEncode(t, tc.frame, os.o))
		}
	}
	valid := mustEncode(t, Frame{TypeDelta, 10, 3, &Delta{Version: 5, State: "game.score",
		Ops: []delta.Op{{Op: "UPDATE", Path: "/a", Value: int64(1)}}}}, EncodeOptions{})
	seeds = append(seeds,
		nil,
		[]byte{0xc1},
		valid[:len(valid)-1],
		append(append([]byte{}, valid...), 0x00),
		omap("a", 1),
		[]byte{0x05},
		arr(TypeHeartbeat, 0, 1),
		arr(TypeHeartbeat, 0, 1, nil, nil),
		frameBytes("HEARTBEAT", 0, 1, nil),
		frameBytes(TypeDelta, -1, 1, nil),
		frameBytes(TypeDelta, uint64(math.MaxUint32)+1, 1, nil),
		frameBytes(TypeDelta, 10, 1, arr()),
		frameBytes(TypeDelta, 10, 1, omap("state", "k", "version", "5", "ops", arr())),
		frameBytes(TypeDelta, 10, 1, omap("key", "k", "version", float64Raw(5), "ops", arr(omap("op", "ADD")))),
		frameBytes(TypeDelta, 10, 1, omap("version", float32Raw(5.5), "ops", omap())),
		frameBytes(TypeWatch, 10, 1, omap("states", arr("a", 1))),
		frameBytes(Type(0x08), 10, 1, omap("x", 1)),
		frameBytes(Type(0x0E), 10, 1, nil),
		frameBytes(Type(0xFF), 10, 1, arr(1)),
		frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", omap(1, Raw{0xc4, 1, 'b'}, true, float32Raw(0.5)))),
		frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", omap(nil, 1))),
		frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", omap(Raw{0xc4, 1, 'b'}, 1))),
		frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", Raw{0xd6, 0xff, 0, 0, 0, 1})),
		frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", Raw{0xd4, 0x05, 0x00})),
		frameBytes(TypeStateInit, 10, 1, omap("state", "k", "value", float64Raw(math.NaN()))),
		frameBytes(TypeResult, 0, 1, omap("call_id", "c", "success", false, "data", "boom", "code", uint64Raw(math.MaxUint64))),
		frameBytes(intAs(0xd3, 3), intAs(0xd2, 10), intAs(0xd1, 1), omap("state", "k", "version", intAs(0xd0, 1))),
		cat(bytes.Repeat([]byte{0x91}, 600), []byte{0xc0}),
	)
	return append(seeds, fastPathSeeds()...)
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		scanFrameAgreesWithDecoder(t, data)
		checkSameAsGeneric(t, data)
		fr, err := Decode(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if de.Err == nil || !errors.Is(err, de.Err) {
				t.Fatalf("DecodeError without a sentinel: %#v", de)
			}
			if de.Type != fr.Type || de.Stream != fr.Stream {
				t.Fatalf("error names %s/%d, frame has %s/%d", de.Type, de.Stream, fr.Type, fr.Stream)
			}
			if errors.Is(err, ErrMalformed) && strings.Contains(de.Detail, "runtime error") {
				t.Fatalf("Decode recovered from a panic: %s", de.Detail)
			}
			if errors.Is(err, ErrUnknownType) && fr.Type.Known() {
				t.Fatalf("ErrUnknownType for known type %s", fr.Type)
			}
			_ = err.Error()
			return
		}
		if !fr.Type.Known() {
			t.Fatalf("unknown type %s decoded without error", fr.Type)
		}
		if fr.Body != nil {
			if typ, _, typed := bodyType(fr.Body); !typed || typ != fr.Type {
				t.Fatalf("%s frame with body %T", fr.Type, fr.Body)
			}
		}
		enc, err := Encode(nil, fr)
		if err != nil {
			t.Fatalf("re-encoding %s: %v", dump(fr), err)
		}
		fr2, err := Decode(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoded frame % x: %v", enc, err)
		}
		enc2, err := Encode(nil, fr2)
		if err != nil {
			t.Fatalf("re-encoding twice: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n% x\n% x", enc, enc2)
		}
		if hasNaN(reflect.ValueOf(fr.Body)) {
			return
		}
		canonical(&fr)
		canonical(&fr2)
		if !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("round trip changed the frame\nfirst:  %s\nsecond: %s", dump(fr), dump(fr2))
		}
	})
}

// canonical removes the differences between a decoded frame and the same
// frame encoded and decoded again that the encoder makes on purpose.
func canonical(f *Frame) {
	switch b := f.Body.(type) {
	case *Watch:
		if b.States != nil {
			b.State = "" // the encoder writes one form, states first
		}
	case *Unwatch:
		if b.States != nil {
			b.State = ""
		}
	case *Delta:
		for i := range b.Ops {
			if b.Ops[i].Op == delta.OpRemove {
				b.Ops[i].Value = nil // REMOVE carries no value
			}
		}
	case *Call:
		if b.Args == nil {
			b.Args = map[string]any{} // nil args are sent as an empty map
		}
	}
}

func hasNaN(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.IsNaN(v.Float())
	case reflect.Interface, reflect.Pointer:
		return !v.IsNil() && hasNaN(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if hasNaN(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if hasNaN(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if hasNaN(iter.Value()) {
				return true
			}
		}
	}
	return false
}

// scanFrameAgreesWithDecoder compares scanFrame, with a small
// depth limit, against the MessagePack decoder: what the decoder reads must
// pass the check unless it nests too deep, and a value nested too deep must
// fail it. A map with a repeated key loses entries in decoding, so for a
// value with maps only the second half can be checked.
func scanFrameAgreesWithDecoder(t *testing.T, data []byte) {
	const limit = 3
	var raw any
	decoded := func() (ok bool) {
		defer func() {
			if recover() != nil {
				ok = false
			}
		}()
		// Without spare capacity: the decoder reads some truncated values
		// from beyond the end of the slice.
		err := msgpack.Unmarshal(data[:len(data):len(data)], &raw)
		return err == nil || errors.Is(err, def.ErrHasLeftOver)
	}()
	if !decoded {
		return
	}
	depth, maps := nesting(raw)
	_, de := scanFrame(data, limit)
	switch {
	case de != nil && de.Err == ErrMalformed:
		t.Fatalf("scanFrame rejects what the decoder reads (%#v): %v", raw, de)
	case de == nil && depth > limit:
		t.Fatalf("scanFrame(limit %d) passes a value nested %d deep", limit, depth)
	case de != nil && depth <= limit && !maps:
		t.Fatalf("scanFrame(limit %d) = %v for a value nested %d deep", limit, de, depth)
	}
}

// nesting counts nested non-empty arrays and maps the way scanFrame
// does, and reports whether there are maps.
func nesting(v any) (depth int, maps bool) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			d, m := nesting(e)
			depth, maps = max(depth, d), maps || m
		}
		if len(x) > 0 {
			depth++
		}
	case map[any]any:
		maps = true
		for k, e := range x {
			dk, _ := nesting(k)
			d, _ := nesting(e)
			depth = max(depth, dk, d)
		}
		if len(x) > 0 {
			depth++
		}
	}
	return depth, maps
}
