package wire

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

type cycleNode struct {
	Name string
	Next *cycleNode
}

type badKey struct{ A, B int }

// decodeValue sends b through a frame and back, as a value from a server
// would come: Decode then Normalize.
func decodeValue(t *testing.T, b []byte) any {
	t.Helper()
	frame, err := Encode(nil, Frame{Type: TypeStateInit, Stream: 10, Body: &StateInit{State: "k", Value: Raw(b), Initialized: true}})
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	f, err := Decode(frame)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return f.Body.(*StateInit).Value
}

func TestAppendStrictValueRefuses(t *testing.T) {
	selfMap := map[string]any{"a": 1}
	selfMap["self"] = selfMap
	selfSlice := make([]any, 2)
	selfSlice[1] = selfSlice
	node := &cycleNode{Name: "a", Next: &cycleNode{Name: "b"}}
	node.Next.Next = node
	deepCycle := map[string]any{}
	deepCycle["list"] = []any{1, map[string]any{"back": deepCycle}}
	typedSelf := map[string][]any{}
	typedSelf["x"] = []any{typedSelf}

	tests := []struct {
		name   string
		in     any
		path   string
		reason string
	}{
		{"map containing itself", selfMap, "/self", "contains itself"},
		{"slice containing itself", selfSlice, "/1", "contains itself"},
		{"pointer cycle", node, "/Next/Next", "contains itself"},
		{"cycle through a slice", deepCycle, "/list/1/back", "contains itself"},
		{"typed map cycle", typedSelf, "/x/0", "contains itself"},
		{"chan", map[string]any{"c": make(chan int)}, "/c", "channel"},
		{"func", []any{1, func() {}}, "/1", "function"},
		{"complex128", struct{ Z complex128 }{1i}, "/Z", "complex"},
		{"complex64 root", complex64(1), "", "complex"},
		{"NaN", map[string]any{"score": math.NaN()}, "/score", "NaN"},
		{"+Inf", []float64{1, math.Inf(1)}, "/1", "+Inf"},
		{"-Inf float32", struct {
			F float32 `json:"f"`
		}{float32(math.Inf(-1))}, "/f", "-Inf"},
		{"struct map key", map[badKey]int{{1, 2}: 3}, "", "map keys of type wire.badKey"},
		{"bool map key", map[string]any{"m": map[bool]int{true: 1}}, "/m", "map keys of type bool"},
		{"escaped path", map[string]any{"a/b~c": make(chan int)}, "/a~1b~0c", "channel"},
		{"too deep", nested(maxDepth+1, 1), strings.Repeat("/0", maxDepth), "nesting deeper"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte{0xee}
			got, err := AppendStrictValue(dst, tc.in)
			if err == nil {
				t.Fatalf("AppendStrictValue succeeded: % x", got)
			}
			if !errors.Is(err, ErrValue) {
				t.Errorf("error %v does not match ErrValue", err)
			}
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("error %T is not an *UnsupportedError", err)
			}
			if ue.Path != tc.path {
				t.Errorf("Path = %q, want %q (%v)", ue.Path, tc.path, err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
			if len(got) != 1 || got[0] != 0xee {
				t.Errorf("dst changed: % x", got)
			}
		})
	}
}

func TestAppendValueAllowsNaNButNotCycles(t *testing.T) {
	if _, err := AppendValue(nil, math.NaN()); err != nil {
		t.Errorf("AppendValue(NaN): %v", err)
	}
	m := map[string]any{}
	m["m"] = m
	if _, err := AppendValue(nil, m); !errors.Is(err, ErrValue) {
		t.Errorf("AppendValue(cycle) = %v, want ErrValue", err)
	}
}

func TestAppendStrictValueSharedIsNotACycle(t *testing.T) {
	shared := map[string]any{"a": 1}
	list := []any{1, 2}
	n := &cycleNode{Name: "n"}
	v := map[string]any{"x": shared, "y": shared, "l1": list, "l2": []any{list, list}, "p": []*cycleNode{n, n}}
	b, err := AppendStrictValue(nil, v)
	if err != nil {
		t.Fatalf("AppendStrictValue: %v", err)
	}
	want := map[string]any{
		"x": map[string]any{"a": int64(1)}, "y": map[string]any{"a": int64(1)},
		"l1": []any{int64(1), int64(2)}, "l2": []any{[]any{int64(1), int64(2)}, []any{int64(1), int64(2)}},
		"p": []any{map[string]any{"Name": "n", "Next": nil}, map[string]any{"Name": "n", "Next": nil}},
	}
	if got := decodeValue(t, b); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

// Types for the round trip: tags of both kinds, skipped and omitempty
// fields, embedded structs (by value and pointer, shadowed names), nested
// structs, pointers, maps with integer and text keys, time and text
// marshalers.
