package sodp

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// WithMutationCheck makes the client check that the values it hands out
// untyped are not modified, for tests. It is off by default; setting the
// environment variable SODP_MUTATION_CHECK to a true value ("1", "true")
// turns it on for every client of the process.
//
// The rule it enforces: a value delivered as any, map[string]any or
// []any (by Watch, WatchMany or WatchPath of those types) is the client's
// own copy, shared with every untyped subscriber of the key and with Get
// and Cached: it must not be modified. (A typed value, of a struct or a
// map of a concrete type, is the reader's own.) Modifying it corrupts what
// the other readers see and what later deltas are applied to, and the race
// detector does not see it.
//
// With the check on, each such value handed out is copied, and compared
// with its copy when the subscription delivers the next value of the same
// key and when it ends. A difference panics, on the goroutine delivering
// the update, with a *MutationError naming the key, the version and the
// JSON Pointer of the first difference found — a bug in the reader, like
// a data race, that a test should not survive. Each value delivered costs
// a copy and a comparison of the whole value, so keep it to tests.
func WithMutationCheck() Option {
	return func(o *options) { o.mutationCheck = true }
}

// MutationError is the panic value of WithMutationCheck: the value of Key
// at Version, handed out untyped, was modified at Path.
type MutationError struct {
	Key     string
	Version uint64
	Path    string // JSON Pointer of the first difference; "/" for the value itself
}

func (e *MutationError) Error() string {
	return fmt.Sprintf("sodp: the value of %s (version %d) handed to a reader was modified at %q; values delivered as any, map[string]any or []any are shared and must not be modified (WithMutationCheck)", e.Key, e.Version, shortPointer(e.Path))
}

func mutationCheckFromEnv() bool {
	on, _ := strconv.ParseBool(os.Getenv("SODP_MUTATION_CHECK"))
	return on
}

// mutationCheck keeps, per subscription and key, the last untyped value
// handed out and a copy of it.
type mutationCheck struct {
	mu   sync.Mutex
	held map[heldRef]heldValue
	subs map[any][]string // the keys held per subscription
}

type heldRef struct {
	sub any // the *Subscription[T]
	key string
}

type heldValue struct {
	value, copy any
	version     uint64
}

func newMutationCheck() *mutationCheck {
	return &mutationCheck{held: make(map[heldRef]heldValue), subs: make(map[any][]string)}
}

// handOut checks the value sub was last given of key, then keeps v if it
// is a container shared with the client.
func (m *mutationCheck) handOut(sub any, key string, version uint64, v any) {
	ref := heldRef{sub, key}
	m.mu.Lock()
	prev, had := m.held[ref]
	shared := false
	switch x := v.(type) {
	case map[string]any:
		shared = x != nil
	case []any:
		shared = x != nil
	}
	switch {
	case shared:
		m.held[ref] = heldValue{value: v, copy: copyValue(v), version: version}
		if !had {
			m.subs[sub] = append(m.subs[sub], key)
		}
	case had:
		delete(m.held, ref)
		m.dropKey(sub, key)
	}
	m.mu.Unlock()
	if had {
		prev.verify(key)
	}
}

func (m *mutationCheck) dropKey(sub any, key string) {
	keys := m.subs[sub]
	for i, k := range keys {
		if k == key {
			keys = append(keys[:i], keys[i+1:]...)
			break
		}
	}
	if len(keys) == 0 {
		delete(m.subs, sub)
	} else {
		m.subs[sub] = keys
	}
}

// release checks and forgets what sub was given.
func (m *mutationCheck) release(sub any) {
	m.mu.Lock()
	keys := m.subs[sub]
	delete(m.subs, sub)
	vals := make([]heldValue, len(keys))
	for i, k := range keys {
		vals[i] = m.held[heldRef{sub, k}]
		delete(m.held, heldRef{sub, k})
	}
	m.mu.Unlock()
	for i, k := range keys {
		vals[i].verify(k)
	}
}

func (h heldValue) verify(key string) {
	if path, differs := firstDifference(h.value, h.copy, ""); differs {
		if path == "" {
			path = "/"
		}
		panic(&MutationError{Key: key, Version: h.version, Path: path})
	}
}

// firstDifference compares a value with its copy and returns the JSON
// Pointer of the first difference, by sorted map key and by index.
func firstDifference(v, c any, at string) (string, bool) {
	switch x := v.(type) {
	case map[string]any:
		y, ok := c.(map[string]any)
		if !ok || (x == nil) != (y == nil) {
			return at, true
		}
		for k, cv := range sortedEntries(y) {
			xv, ok := x[k]
			if !ok {
				return at + "/" + escaper.Replace(k), true
			}
			if p, d := firstDifference(xv, cv, at+"/"+escaper.Replace(k)); d {
				return p, true
			}
		}
		if len(x) != len(y) {
			for k := range sortedEntries(x) {
				if _, ok := y[k]; !ok {
					return at + "/" + escaper.Replace(k), true
				}
			}
		}
		return "", false
	case []any:
		y, ok := c.([]any)
		if !ok || (x == nil) != (y == nil) {
			return at, true
		}
		for i := range min(len(x), len(y)) {
			if p, d := firstDifference(x[i], y[i], at+"/"+strconv.Itoa(i)); d {
				return p, true
			}
		}
		if len(x) != len(y) {
			return at + "/" + strconv.Itoa(min(len(x), len(y))), true
		}
		return "", false
	}
	switch y := c.(type) {
	case map[string]any, []any:
		return at, true
	case float64:
		if x, ok := v.(float64); ok && x != x && y != y {
			return "", false // NaN, unchanged
		}
	}
	if !reflect.DeepEqual(v, c) {
		return at, true
	}
	return "", false
}

// sortedEntries ranges over m in key order, so that the difference found
// first does not depend on map order.
func sortedEntries(m map[string]any) func(func(string, any) bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return func(yield func(string, any) bool) {
		for _, k := range keys {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}
