package sodp_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/sodp-go/client/internal/convert"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

type reuseGroup struct {
	A string  `msgpack:"a"`
	B int64   `msgpack:"b"`
	C float64 `msgpack:"c"`
}

type reuseValue struct {
	G0   reuseGroup            `msgpack:"g0"`
	G1   reuseGroup            `msgpack:"g1"`
	G2   reuseGroup            `msgpack:"g2"`
	M    map[string]reuseGroup `msgpack:"m"`
	S    []reuseGroup          `msgpack:"s"`
	Name string                `msgpack:"name"`
}

func reuseGroupValue(i int) map[string]any {
	return map[string]any{"a": fmt.Sprintf("a%d", i), "b": i, "c": 0.5}
}

// TestTypedUpdatesMatchFullConversion: a typed subscription builds each
// value from the previous one where parts are unchanged; every delivered
// value must equal the full conversion of the key's value at its version,
// and the reader modifying what it was given (flat fields, maps, slices)
// must not show in later values. The reference is the server's value at
// each version, which an untyped subscription of the same key on the same
// client must give too. A second client has the typed subscription alone.
func TestTypedUpdatesMatchFullConversion(t *testing.T) {
	for _, d := range []sodp.Dialect{sodp.DialectSpec, sodp.DialectGo, sodp.DialectTS, sodp.DialectRust} {
		t.Run(d.String(), func(t *testing.T) {
			srv := newServer(t, sodptest.WithDialect(d))
			srv.Set("reuse.k", map[string]any{
				"g0": reuseGroupValue(0), "g1": reuseGroupValue(1), "g2": reuseGroupValue(2),
				"m":    map[string]any{"x": reuseGroupValue(3)},
				"s":    []any{reuseGroupValue(4)},
				"name": "n",
			})
			c := dial(t, srv.URL)
			const writes = 150
			typed := watch[reuseValue](t, c, "reuse.k", sodp.WithBuffer(writes+16))
			untyped := watch[any](t, c, "reuse.k", sodp.WithBuffer(writes+16))
			// Both have their first value before anything changes, so
			// that every write arrives as a DELTA.
			want := map[uint64]any{}
			first := next(t, untyped)
			want[first.Version] = first.Value
			server := map[uint64]any{first.Version: first.Value}
			if u := next(t, typed); u.Version != first.Version {
				t.Fatalf("first versions: typed %d, untyped %d", u.Version, first.Version)
			}
			// On a client of its own, the typed subscription is the only
			// one of the key: the client's copy is then never handed out
			// and is changed in place.
			alone := watch[reuseValue](t, dial(t, srv.URL), "reuse.k", sodp.WithBuffer(writes+16))
			if u := next(t, alone); u.Version != first.Version {
				t.Fatalf("first versions: typed alone %d, untyped %d", u.Version, first.Version)
			}

			r := rand.New(rand.NewPCG(uint64(d), 1))
			groups := []string{"/g0", "/g1", "/g2", "/m/x", "/m/y", "/s/0"}
			fields := []string{"/a", "/b", "/c"}
			var last uint64
			for i := range writes {
				var ptr string
				var val any
				switch r.IntN(5) {
				case 0:
					ptr, val = groups[r.IntN(len(groups))], reuseGroupValue(100+i)
				case 1:
					ptr, val = "/name", fmt.Sprintf("n%d", i)
				default:
					ptr = groups[r.IntN(3)] + fields[r.IntN(len(fields))]
					switch ptr[len(ptr)-1] {
					case 'a':
						val = fmt.Sprintf("v%d", i)
					case 'b':
						val = i
					default:
						val = float64(i) + 0.25
					}
				}
				v, err := srv.SetIn("reuse.k", ptr, val)
				if err != nil {
					t.Fatalf("SetIn %s: %v", ptr, err)
				}
				last = v
				// The server's value at each version is the reference.
				sv, sver, _ := srv.Get("reuse.k")
				server[sver] = sv
			}

			// The untyped subscription (which keeps its own copy too, and
			// hands out each version as it is) gives the server's values,
			// and none of them changes once given.
			var given []sodp.Update[any]
			for {
				u := next(t, untyped)
				if w, ok := server[u.Version]; !ok || !reflect.DeepEqual(u.Value, w) {
					t.Fatalf("untyped version %d: %v, server %v", u.Version, u.Value, w)
				}
				given = append(given, u)
				want[u.Version] = u.Value
				if u.Version >= last {
					break
				}
			}
			defer func() {
				for _, u := range given {
					if !reflect.DeepEqual(u.Value, server[u.Version]) {
						t.Errorf("untyped version %d changed after it was given: %v", u.Version, u.Value)
					}
				}
			}()
			for _, typed := range []*sodp.Subscription[reuseValue]{typed, alone} {
				n := 0
				for {
					u := next(t, typed)
					if u.Err != nil {
						t.Fatalf("version %d: %v", u.Version, u.Err)
					}
					tree, ok := want[u.Version]
					if !ok {
						t.Fatalf("typed version %d was not delivered untyped", u.Version)
					}
					var full reuseValue
					if err := convert.To(tree, &full); err != nil {
						t.Fatalf("version %d: %v", u.Version, err)
					}
					if !reflect.DeepEqual(u.Value, full) {
						t.Fatalf("version %d:\n got %+v\nwant %+v", u.Version, u.Value, full)
					}
					n++
					// The reader's own value: scribble on all of it.
					u.Value.G0.A, u.Value.G1.B, u.Value.Name = "scribbled", -1, "scribbled"
					for k := range u.Value.M {
						u.Value.M[k] = reuseGroup{A: "scribbled"}
					}
					for i := range u.Value.S {
						u.Value.S[i].B = -1
					}
					if u.Version >= last {
						break
					}
				}
				if n < writes/2 {
					t.Fatalf("only %d typed updates for %d writes", n, writes)
				}
			}
		})
	}
}
