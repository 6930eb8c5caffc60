package session

import (
	"errors"
	"reflect"
	"testing"
)

// TestStateBodies checks the body of every state method on every dialect:
// the same everywhere but for the Go server's dotted set_in path and its
// missing presence.
func TestStateBodies(t *testing.T) {
	for _, d := range []Dialect{DialectSpec, DialectGo, DialectTS, DialectRust} {
		for _, c := range []struct {
			call   StateCall
			method string
			want   map[string]any
			err    error
		}{
			{StateCall{Op: OpSet, Key: "k", Value: int64(1)}, "state.set", map[string]any{"state": "k", "value": int64(1)}, nil},
			{StateCall{Op: OpPatch, Key: "k", Value: map[string]any{"a": true}}, "state.patch", map[string]any{"state": "k", "patch": map[string]any{"a": true}}, nil},
			{StateCall{Op: OpSetIn, Key: "k", Path: "/a/b", Value: "x"}, "state.set_in", map[string]any{"state": "k", "path": map[bool]string{true: "a.b", false: "/a/b"}[d == DialectGo], "value": "x"}, nil},
			{StateCall{Op: OpDelete, Key: "k"}, "state.delete", map[string]any{"state": "k"}, nil},
			{StateCall{Op: OpPresence, Key: "k", Path: "/p", Value: int64(2)}, "state.presence", map[string]any{"state": "k", "path": "/p", "value": int64(2)}, map[bool]error{true: ErrNotSupported}[d == DialectGo]},
		} {
			if got := c.call.Op.Method(); got != c.method {
				t.Errorf("op %d names %q, want %q", c.call.Op, got, c.method)
			}
			got, err := stateBody(d, c.call)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Errorf("%v %s: %v, want %v", d, c.method, err, c.err)
				}
				continue
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%v %s: %v, %v; want %v", d, c.method, got, err, c.want)
			}
		}
	}
	if StateOp(0).Method() != "" || StateOp(99).Method() != "" {
		t.Error("an unknown op names a method")
	}
}

// TestStateDoneKeepsPresence checks what a successful state call leaves
// behind: presence is remembered, a delete forgets the key's entries.
func TestStateDoneKeepsPresence(t *testing.T) {
	s := &Session{presence: map[string]map[string]any{}, pub: newPublished(), cfg: Config{MaxMessageSize: 1 << 20}}
	run := func(c StateCall) {
		pc := &pendingCall{id: "1", method: c.Op.Method(), key: c.Key}
		if err := s.prepareState(pc, c); err != nil {
			t.Fatal(err)
		}
		if (pc.adapt == nil) == (c.Op == OpPresence || c.Op == OpSetIn) {
			t.Fatalf("%s: body built per dialect %v", pc.method, pc.adapt != nil)
		}
		if pc.onOK != nil {
			pc.onOK()
		}
	}
	run(StateCall{Op: OpPresence, Key: "k", Path: "/p", Value: int64(1)})
	run(StateCall{Op: OpPresence, Key: "j", Path: "/p", Value: int64(1)})
	run(StateCall{Op: OpSet, Key: "k", Value: int64(1)})
	if s.presence["k"]["/p"] != int64(1) || len(s.presence) != 2 {
		t.Fatalf("presence %v", s.presence)
	}
	run(StateCall{Op: OpDelete, Key: "k"})
	if _, ok := s.presence["k"]; ok || len(s.presence) != 1 {
		t.Fatalf("after delete: presence %v", s.presence)
	}
	if err := s.prepareState(&pendingCall{}, StateCall{Op: 42}); err == nil {
		t.Error("an unknown op was prepared")
	}
}
