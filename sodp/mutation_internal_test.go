package sodp

import (
	"errors"
	"math"
	"testing"
)

func TestFirstDifference(t *testing.T) {
	base := func() any {
		return map[string]any{"a": map[string]any{"b": int64(1), "c": []any{"x", "y"}}, "n": math.NaN(), "z": nil}
	}
	tests := []struct {
		name   string
		modify func(v map[string]any)
		path   string
	}{
		{"unchanged", func(map[string]any) {}, ""},
		{"field changed", func(v map[string]any) { v["a"].(map[string]any)["b"] = int64(2) }, "/a/b"},
		{"field added", func(v map[string]any) { v["a"].(map[string]any)["a~/"] = true }, "/a/a~0~1"},
		{"field removed", func(v map[string]any) { delete(v["a"].(map[string]any), "c") }, "/a/c"},
		{"element changed", func(v map[string]any) { v["a"].(map[string]any)["c"].([]any)[1] = "q" }, "/a/c/1"},
		{"scalar replaced by a map", func(v map[string]any) { v["z"] = map[string]any{} }, "/z"},
	}
	for _, tc := range tests {
		v := base()
		c := copyValue(v)
		tc.modify(v.(map[string]any))
		path, differs := firstDifference(v, c, "")
		if differs != (tc.path != "") || path != tc.path {
			t.Errorf("%s: firstDifference = %q, %v; want %q", tc.name, path, differs, tc.path)
		}
	}
}

func TestMutationCheckReports(t *testing.T) {
	m := newMutationCheck()
	sub := new(int)
	v := map[string]any{"players": []any{"ann"}}
	m.handOut(sub, "game", 7, v)
	m.handOut(sub, "game", 8, map[string]any{"players": []any{"ann"}}) // the first was not modified
	v2 := map[string]any{"players": []any{"ann"}}
	m.handOut(sub, "game", 9, v2)
	v2["players"].([]any)[0] = "bob"
	got := func() (err error) {
		defer func() { err, _ = recover().(error) }()
		m.handOut(sub, "game", 10, nil)
		return nil
	}()
	var me *MutationError
	if !errors.As(got, &me) || me.Key != "game" || me.Version != 9 || me.Path != "/players/0" {
		t.Fatalf("panic value %v (%+v), want a *MutationError at /players/0 of version 9", got, me)
	}
	if len(m.held) != 0 || len(m.subs) != 0 {
		t.Fatalf("kept %d values for %d subscriptions after a nil value", len(m.held), len(m.subs))
	}
	// Release checks too, and forgets.
	m.handOut(sub, "a", 1, []any{int64(1)})
	m.handOut(sub, "b", 1, map[string]any{"k": "v"})
	m.release(sub)
	if len(m.held) != 0 || len(m.subs) != 0 {
		t.Fatal("release kept values")
	}
	w := []any{int64(1)}
	m.handOut(sub, "a", 3, w)
	w[0] = int64(2)
	got = func() (err error) {
		defer func() { err, _ = recover().(error) }()
		m.release(sub)
		return nil
	}()
	if !errors.As(got, &me) || me.Key != "a" || me.Path != "/0" {
		t.Fatalf("release: %v", got)
	}
}
