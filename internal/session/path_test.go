package session

import (
	"fmt"
	"slices"
	"testing"

	"github.com/sodp-go/client/internal/delta"
)

func TestMergeChanged(t *testing.T) {
	a := []string{"/a", "/b"}
	b := []string{"/b", "/c"}
	got := MergeChanged(a, b)
	if !slices.Equal(got, []string{"/a", "/b", "/c"}) || !slices.Equal(a, []string{"/a", "/b"}) || !slices.Equal(b, []string{"/b", "/c"}) {
		t.Fatalf("merge %q (inputs %q %q)", got, a, b)
	}
	got[0] = "x"
	if a[0] != "/a" {
		t.Fatal("the merged list shares its array with an input")
	}
	if got := MergeChanged(a, []string{"/"}); !slices.Equal(got, []string{"/"}) {
		t.Fatalf("merge with the whole value: %q", got)
	}
	long := make([]string, MaxChanged)
	for i := range long {
		long[i] = fmt.Sprintf("/k%d", i)
	}
	if got := MergeChanged(long, []string{"/k0"}); len(got) != MaxChanged {
		t.Fatalf("merge within the cap: %d paths", len(got))
	}
	if got := MergeChanged(long, []string{"/more"}); !slices.Equal(got, []string{"/"}) {
		t.Fatalf("merge past the cap: %q", got)
	}
	ops := []delta.Op{{Op: delta.OpAdd, Path: "/l/-"}, {Op: delta.OpUpdate, Path: "/a"}, {Op: delta.OpRemove, Path: "/l/2"}}
	if got := changedPaths(ops); !slices.Equal(got, []string{"/l", "/a"}) {
		t.Fatalf("changedPaths %q", got)
	}
}

// A conflated mailbox merges Changed over deltas, and drops it once a
// snapshot or resync is folded in.
func TestMailboxMergesChanged(t *testing.T) {
	m := new(Mailbox)
	m.init(0, nil, nil)
	m.Push(Delivery{Key: "k", Kind: KindDelta, Changed: []string{"/a"}})
	m.Push(Delivery{Key: "k", Kind: KindReplayed, Changed: []string{"/b", "/a"}})
	d, ok := m.Next()
	if !ok || d.Skipped != 1 || d.Kind != KindReplayed || !slices.Equal(d.Changed, []string{"/a", "/b"}) {
		t.Fatalf("merged %+v", d)
	}
	m.Push(Delivery{Key: "k", Kind: KindResync})
	m.Push(Delivery{Key: "k", Kind: KindDelta, Changed: []string{"/c"}})
	d, ok = m.Next()
	if !ok || d.Kind != KindResync || d.Changed != nil {
		t.Fatalf("resync then delta %+v", d)
	}
	m.Fail(ErrClosed)
}
