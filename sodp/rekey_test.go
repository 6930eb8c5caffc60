package sodp_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// keysOf returns the keys a WATCH or UNWATCH frame names.
func keysOf(f sodptest.Frame) []string {
	if k, ok := f.Body["state"].(string); ok {
		return []string{k}
	}
	var out []string
	for _, k := range f.Body["states"].([]any) {
		out = append(out, k.(string))
	}
	slices.Sort(out)
	return out
}

func TestWatchManyAddRemoveKeys(t *testing.T) {
	for _, d := range allDialects() {
		for _, buffer := range []int{0, 8} {
			t.Run(d.String()+map[int]string{0: "/conflated", 8: "/buffered"}[buffer], func(t *testing.T) {
				testAddRemoveKeys(t, d, buffer)
			})
		}
	}
}

func testAddRemoveKeys(t *testing.T, d sodp.Dialect, buffer int) {
	srv := newServer(t, sodptest.WithDialect(d))
	for i, k := range []string{"a", "b", "c", "d", "e"} {
		srv.Set(k, i+1)
	}
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	other := watch[int](t, c, "c")
	if u := next(t, other); u.Value != 3 {
		t.Fatalf("other: %+v", u)
	}
	sub, err := sodp.WatchMany[int](ctx, c, []string{"a"}, sodp.WithBuffer(buffer))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if u := next(t, sub); u.Key != "a" || u.Value != 1 {
		t.Fatalf("first: %+v", u)
	}
	watches := len(frames(srv, "WATCH"))

	// Add b (new to the client) and c (watched by other): one WATCH, of b.
	if err := sub.AddKeys(ctx, []string{"b", "c", "a", "b"}); err != nil {
		t.Fatalf("AddKeys: %v", err)
	}
	got := map[string]sodp.Update[int]{}
	for len(got) < 2 {
		u := next(t, sub)
		got[u.Key] = u
	}
	if got["b"].Value != 2 || got["b"].Kind != sodp.KindSnapshot || got["c"].Value != 3 || got["c"].Kind != sodp.KindCached {
		t.Fatalf("added keys: %+v", got)
	}
	w := frames(srv, "WATCH")
	if len(w) != watches+1 || !reflect.DeepEqual(keysOf(w[len(w)-1]), []string{"b"}) {
		t.Fatalf("WATCH frames after AddKeys: %d new, last %v", len(w)-watches, w[len(w)-1].Body)
	}
	if keys := sub.Keys(); !reflect.DeepEqual(keys, []string{"a", "b", "c"}) {
		t.Fatalf("Keys = %v", keys)
	}
	if err := sub.WaitKeyVersion(ctx, "b", 1); err != nil {
		t.Fatalf("WaitKeyVersion of an added key: %v", err)
	}

	// Remove a and c: one UNWATCH, of a only (other still watches c).
	srv.Set("a", 10) // an update that may be waiting when a is removed
	if err := sub.RemoveKeys(ctx, []string{"a", "c", "zz"}); err != nil {
		t.Fatalf("RemoveKeys: %v", err)
	}
	eventually(t, "an UNWATCH", func() bool { return len(frames(srv, "UNWATCH")) > 0 })
	uw := frames(srv, "UNWATCH")
	if len(uw) != 1 || !reflect.DeepEqual(keysOf(uw[0]), []string{"a"}) {
		t.Fatalf("UNWATCH frames: %d, first %v", len(uw), uw[0].Body)
	}
	if keys := sub.Keys(); !reflect.DeepEqual(keys, []string{"b"}) {
		t.Fatalf("Keys = %v", keys)
	}
	srv.Set("c", 30)
	if u := next(t, other); u.Value != 30 {
		t.Fatalf("other after the removal: %+v", u)
	}
	srv.Set("b", 20)
	// The next update is b's: nothing of a or c comes any more (an update
	// of a may have been on its way while RemoveKeys ran).
	u := nextUntil(t, sub, func(u sodp.Update[int]) bool { return u.Key != "a" })
	if u.Key != "b" || u.Value != 20 {
		t.Fatalf("after RemoveKeys: %+v", u)
	}

	// Removing every key left is refused.
	if err := sub.RemoveKeys(ctx, []string{"b"}); !errors.Is(err, sodp.ErrInvalidKey) {
		t.Fatalf("RemoveKeys of the last key: %v", err)
	}
	// A key removed can be added again; it comes with its current value.
	if err := sub.AddKeys(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if u := next(t, sub); u.Key != "a" || u.Value != 10 {
		t.Fatalf("a again: %+v", u)
	}
	srv.Set("a", 11)
	if u := next(t, sub); u.Key != "a" || u.Value != 11 || u.Kind != sodp.KindDelta {
		t.Fatalf("a after its return: %+v", u)
	}
	if n := c.Stats().WatchedKeys; n != 3 {
		t.Fatalf("WatchedKeys = %d, want 3 (a, b, c)", n)
	}
}

func TestAddRemoveKeysErrors(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	sub := watch[int](t, c, "a")
	if err := sub.AddKeys(ctx, []string{"bad key"}); !errors.Is(err, sodp.ErrInvalidKey) {
		t.Fatalf("invalid key: %v", err)
	}
	if err := sub.AddKeys(ctx, []string{"b"}, sodp.WithBuffer(3)); !errors.Is(err, sodp.ErrInvalidOption) {
		t.Fatalf("WithBuffer: %v", err)
	}
	part, err := sodp.WatchPath[int](ctx, c, "a", "/x")
	if err != nil {
		t.Fatal(err)
	}
	defer part.Close()
	if err := part.AddKeys(ctx, []string{"b"}); !errors.Is(err, sodp.ErrInvalidKey) {
		t.Fatalf("WatchPath: %v", err)
	}
	sub.Close()
	if err := sub.AddKeys(ctx, []string{"b"}); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := sub.RemoveKeys(ctx, []string{"a"}); !errors.Is(err, sodp.ErrClosed) {
		t.Fatalf("RemoveKeys after Close: %v", err)
	}
}

// TestAddKeysPastMaxWatches: keys past the server's limit are refused one
// by one; when none fits, AddKeys fails and adds nothing.
func TestAddKeysPastMaxWatches(t *testing.T) {
	srv := newServer(t, sodptest.WithDialect(sodp.DialectGo), sodptest.WithMaxWatches(2))
	c := dial(t, srv.URL)
	ctx := ctxT(t)
	sub, err := sodp.WatchMany[any](ctx, c, []string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	next(t, sub)
	if err := sub.AddKeys(ctx, []string{"b", "c"}); err != nil {
		t.Fatal(err)
	}
	refused := nextUntil(t, sub, func(u sodp.Update[any]) bool { return u.Kind == sodp.KindRefused })
	if refused.Key != "c" || !errors.Is(refused.Err, sodp.ErrRateLimited) {
		t.Fatalf("refusal: %+v", refused)
	}
	if err := sub.AddKeys(ctx, []string{"d"}); !errors.Is(err, sodp.ErrRateLimited) {
		t.Fatalf("AddKeys with no room: %v", err)
	}
	if keys := sub.Keys(); !reflect.DeepEqual(keys, []string{"a", "b", "c"}) {
		t.Fatalf("Keys = %v", keys)
	}
	// c, refused, does not count as watched: removing a and b is refused.
	if err := sub.RemoveKeys(ctx, []string{"a", "b"}); !errors.Is(err, sodp.ErrInvalidKey) {
		t.Fatalf("RemoveKeys of every watched key: %v", err)
	}
	if err := sub.RemoveKeys(ctx, []string{"c", "a"}); err != nil {
		t.Fatalf("RemoveKeys of a refused key: %v", err)
	}
	if err := sub.AddKeys(ctx, []string{"d"}); err != nil {
		t.Fatalf("AddKeys once there is room: %v", err)
	}
}
