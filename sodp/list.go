package sodp

import (
	"encoding/json"
	"iter"
	"slices"

	"github.com/sodp-go/client/internal/pvec"
)

// List is an immutable list of values of type V, for watching a long
// array whole at the cost of its changes: a leaderboard's rows, a board's
// cells.
//
// A List never changes once made. Watch[List[V]] (or a struct T with a
// List field) fills it from an array by the rules of Watch for V; an
// update that changes elements in place (an UPDATE of "/3/score") is made
// from the reader's previous List by converting again only the elements
// its Changed paths name and sharing every other, at O(log n) per changed
// element. An update that may have moved elements (an append, a removal:
// Changed then names the array itself) converts the whole array again, as
// for a slice; so does every change the known servers send, as they
// replace a changed array with one UPDATE of the whole array (a Map keyed
// by id is the shape they update at the cost of the change). Elements are
// shared only when V holds nothing a reader could modify (numbers,
// strings, structs and arrays of them, Maps and Lists of such values).
//
// Costs: Len is O(1); Get, With and Append are O(log n) (a trie of 32-slot
// nodes); All and Clone are O(n). The zero List is empty and ready to
// use. A List is written (Set, Call arguments) as the array it holds, and
// marshals to and from JSON as one.
type List[V any] struct {
	v pvec.Vec[V]
}

// ListOf returns a List holding a copy of the elements of s, in O(n).
func ListOf[V any](s []V) List[V] { return List[V]{pvec.FromSlice(s)} }

// Len returns the number of elements, in O(1).
func (l List[V]) Len() int { return l.v.Len() }

// Get returns element i and whether i is in range (0 ≤ i < Len), in
// O(log n); the zero V out of range.
func (l List[V]) Get(i int) (V, bool) { return l.v.Get(i) }

// All yields every index and element, in order.
func (l List[V]) All() iter.Seq2[int, V] { return l.v.All() }

// Clone returns the elements of l as a new slice, in O(n): the caller's
// own. A nil slice is returned for an empty List.
func (l List[V]) Clone() []V {
	if l.v.Len() == 0 {
		return nil
	}
	out := make([]V, 0, l.v.Len())
	for _, x := range l.v.All() {
		out = append(out, x)
	}
	return out
}

// With returns a List holding v at i and otherwise the elements of l, in
// O(log n); l itself does not change. It panics if i is out of range, as
// indexing a slice does.
func (l List[V]) With(i int, v V) List[V] { return List[V]{l.v.Set(i, v)} }

// Append returns a List of the elements of l followed by v, in O(log n);
// l itself does not change.
func (l List[V]) Append(v V) List[V] { return List[V]{l.v.Append(v)} }

// MarshalJSON writes l as a JSON array.
func (l List[V]) MarshalJSON() ([]byte, error) {
	if l.v.Len() == 0 {
		return []byte("[]"), nil
	}
	return json.Marshal(l.Clone())
}

// UnmarshalJSON reads a JSON array into a new List (null gives the empty
// List); what l held before is not changed, only replaced.
func (l *List[V]) UnmarshalJSON(b []byte) error {
	var s []V
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*l = List[V]{pvec.FromSlice(slices.Clip(s))}
	return nil
}
