package sodp_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sodp-go/client/sodp"
)

type roomCursor struct {
	X    float64 `msgpack:"x"`
	Y    float64 `msgpack:"y"`
	Name string  `msgpack:"name"`
}

// roomState is a struct holding a Map, to check a Map as a field.
type roomState struct {
	Title   string               `msgpack:"title"`
	Cursors sodp.Map[roomCursor] `msgpack:"cursors"`
}

func cursorValue(c roomCursor) map[string]any {
	return map[string]any{"x": c.X, "y": c.Y, "name": c.Name}
}

// roomModel is the test's own record of a room key: the cursors at each
// version and the path (relative to the cursors) each version changed.
type roomModel struct {
	cur     map[string]roomCursor
	at      map[uint64]map[string]roomCursor
	touched map[uint64]string
	last    uint64
}

func (m *roomModel) record(v uint64, path string) {
	if v == 0 {
		return
	}
	m.at[v] = maps.Clone(m.cur)
	m.touched[v] = path
	m.last = v
}

// TestMapWatchRandomDeltas streams random one-entry changes (moves,
// added and removed cursors) to a room watched as sodp.Map[roomCursor]
// and as a struct with a Map field, conflated and buffered, and checks
// every update against the model at its version, that Changed names
// exactly the entries changed since the previous update (or everything,
// past MaxChanged paths), that no value handed out ever changes, and that
// modifying a reader's Clone affects nothing.
func TestMapWatchRandomDeltas(t *testing.T) {
	for _, tc := range []struct{ mode, prefix string }{
		{"conflated", ""}, {"buffered", ""}, {"conflated", "/cursors"}, {"buffered", "/cursors"},
	} {
		mode, prefix := tc.mode, tc.prefix
		t.Run(mode+prefix, func(t *testing.T) {
			srv := newServer(t)
			c := dial(t, srv.URL)
			r := rand.New(rand.NewPCG(3, uint64(len(mode))))
			m := &roomModel{cur: map[string]roomCursor{}, at: map[uint64]map[string]roomCursor{}, touched: map[uint64]string{}}
			cursors := map[string]any{}
			for i := range 300 {
				k := fmt.Sprintf("user%d", i)
				m.cur[k] = roomCursor{X: float64(i), Name: k}
				cursors[k] = cursorValue(m.cur[k])
			}
			// The room is the cursors alone (watched as a Map), or an
			// object with the cursors at /cursors (watched as a struct
			// with a Map field, and as a Map by WatchPath).
			whole := func(cursors map[string]any) any {
				if prefix == "" {
					return cursors
				}
				return map[string]any{"title": "lobby", "cursors": cursors}
			}
			m.record(srv.Set("room.a", whole(cursors)), "")
			var opts []sodp.WatchOption
			if mode == "buffered" {
				opts = append(opts, sodp.WithBuffer(10000))
			}
			var sub, sub2 *sodp.Subscription[sodp.Map[roomCursor]]
			var st *sodp.Subscription[roomState]
			if prefix == "" {
				sub = watch[sodp.Map[roomCursor]](t, c, "room.a", opts...)
			} else {
				st = watch[roomState](t, c, "room.a", opts...)
				var err error
				sub2, err = sodp.WatchPath[sodp.Map[roomCursor]](ctxT(t), c, "room.a", "/cursors", opts...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sub2.Close() })
			}

			type handed struct {
				v    sodp.Map[roomCursor]
				want map[string]roomCursor
			}
			var kept []handed
			prevVersion := map[string]uint64{}
			conflated := 0
			check := func(name string, u sodp.Update[sodp.Map[roomCursor]]) {
				t.Helper()
				if u.Err != nil {
					t.Fatalf("%s: version %d: %v", name, u.Version, u.Err)
				}
				want, ok := m.at[u.Version]
				if !ok {
					t.Fatalf("%s: version %d was never written", name, u.Version)
				}
				got := u.Value.Clone()
				if !maps.Equal(got, want) || u.Value.Len() != len(want) {
					t.Fatalf("%s: version %d: %d entries differ from the %d of the model", name, u.Version, len(got), len(want))
				}
				keys, all := sodp.ChangedKeys(u.Changed)
				if u.Kind == sodp.KindDelta {
					var wantKeys, paths []string
					for v := prevVersion[name] + 1; v <= u.Version; v++ {
						p := m.touched[v]
						if p == "" {
							continue
						}
						if !slices.Contains(paths, p) {
							paths = append(paths, p)
						}
						if k := strings.Split(p, "/")[1]; !slices.Contains(wantKeys, k) {
							wantKeys = append(wantKeys, k)
						}
					}
					switch {
					case all && len(paths) <= sodp.MaxChanged:
						t.Fatalf("%s: version %d: Changed %v covers everything for %d paths", name, u.Version, u.Changed, len(paths))
					case !all:
						slices.Sort(keys)
						slices.Sort(wantKeys)
						if !slices.Equal(keys, wantKeys) {
							t.Fatalf("%s: versions %d..%d: ChangedKeys %v, want %v (Changed %v)", name, prevVersion[name]+1, u.Version, keys, wantKeys, u.Changed)
						}
					}
				}
				if u.Skipped > 0 {
					conflated++
				}
				prevVersion[name] = u.Version
				kept = append(kept, handed{u.Value, got})
				// The reader's plain copy is its own: scribbling on it
				// must change nothing the client hands out.
				for k := range got {
					got[k] = roomCursor{X: -1}
					delete(got, k)
					break
				}
				kept[len(kept)-1].want = u.Value.Clone()
			}
			readTo := func(v uint64) {
				if sub != nil {
					nextUntil(t, sub, func(u sodp.Update[sodp.Map[roomCursor]]) bool {
						check("whole", u)
						return u.Version >= v
					})
					return
				}
				nextUntil(t, sub2, func(u sodp.Update[sodp.Map[roomCursor]]) bool {
					check("part", u)
					return u.Version >= v
				})
				nextUntil(t, st, func(u sodp.Update[roomState]) bool {
					if u.Err != nil {
						t.Fatalf("struct: %v", u.Err)
					}
					if got := u.Value.Cursors.Clone(); !maps.Equal(got, m.at[u.Version]) || u.Value.Title != "lobby" {
						t.Fatalf("struct: version %d differs from the model", u.Version)
					}
					return u.Version >= v
				})
			}
			readTo(m.last)
			for round := range 60 {
				n := 1 + r.IntN(8)
				if round == 30 {
					n = sodp.MaxChanged + 10 // more entries than Changed lists
				}
				for range n {
					k := fmt.Sprintf("user%d", r.IntN(400))
					_, exists := m.cur[k]
					switch {
					case exists && r.IntN(6) == 0:
						delete(m.cur, k)
						next := map[string]any{}
						for k2, c2 := range m.cur {
							next[k2] = cursorValue(c2)
						}
						m.record(srv.Set("room.a", whole(next)), "/"+k)
					case exists:
						c := m.cur[k]
						c.X += 1
						m.cur[k] = c
						v, err := srv.SetIn("room.a", prefix+"/"+k+"/x", c.X)
						if err != nil {
							t.Fatal(err)
						}
						m.record(v, "/"+k+"/x")
					default:
						m.cur[k] = roomCursor{X: 0.5, Y: 2, Name: k}
						v, err := srv.SetIn("room.a", prefix+"/"+k, cursorValue(m.cur[k]))
						if err != nil {
							t.Fatal(err)
						}
						m.record(v, "/"+k)
					}
				}
				readTo(m.last)
			}
			if mode == "conflated" && conflated == 0 {
				t.Error("no update was conflated: the merged Changed lists went untested")
			}
			t.Logf("%d updates checked, %d conflated", len(kept), conflated)
			for i, h := range kept {
				if got := h.v.Clone(); !maps.Equal(got, h.want) {
					t.Fatalf("value %d handed out changed afterwards", i)
				}
			}
		})
	}
}

// TestMapEncodes: a value holding a Map is written as the object it
// holds (Set, and encoding/json), and read back.
func TestMapEncodes(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	m := sodp.MapOf(map[string]roomCursor{"a": {X: 1, Name: "a"}, "b/~": {Y: 2}})
	m2 := m.With("c", roomCursor{Name: "c"}).Without("a")
	if m.Len() != 2 || m2.Len() != 2 {
		t.Fatalf("Len %d and %d, want 2 and 2", m.Len(), m2.Len())
	}
	if _, ok := m.Get("a"); !ok {
		t.Fatal("Without changed the Map it was called on")
	}
	if _, err := c.Set(ctxT(t), "room.b", roomState{Title: "t", Cursors: m2}); err != nil {
		t.Fatal(err)
	}
	v, _, _ := srv.Get("room.b")
	want := map[string]any{"title": "t", "cursors": map[string]any{
		"b/~": map[string]any{"x": 0.0, "y": 2.0, "name": ""},
		"c":   map[string]any{"x": 0.0, "y": 0.0, "name": "c"},
	}}
	if fmt.Sprint(v) != fmt.Sprint(want) {
		t.Fatalf("server holds %v, want %v", v, want)
	}
	u := next(t, watch[roomState](t, c, "room.b"))
	if u.Err != nil || !maps.Equal(u.Value.Cursors.Clone(), m2.Clone()) {
		t.Fatalf("read back %+v (%v)", u.Value, u.Err)
	}
	b, err := json.Marshal(m2)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"b/~":{"X":0,"Y":2,"Name":""},"c":{"X":0,"Y":0,"Name":"c"}}` {
		t.Fatalf("JSON %s", b)
	}
	var back sodp.Map[roomCursor]
	if err := json.Unmarshal(b, &back); err != nil || !maps.Equal(back.Clone(), m2.Clone()) {
		t.Fatalf("JSON round trip: %v %v", back.Clone(), err)
	}
	keys, all := sodp.ChangedKeys([]string{"/b~1~0/x", "/c", "/b~1~0"})
	if all || !slices.Equal(keys, []string{"b/~", "c"}) {
		t.Fatalf("ChangedKeys = %q, %v", keys, all)
	}
	if _, all := sodp.ChangedKeys([]string{"/c", "/"}); !all {
		t.Fatal(`ChangedKeys with "/" must cover everything`)
	}
	if _, all := sodp.ChangedKeys(nil); !all {
		t.Fatal("ChangedKeys(nil) must cover everything")
	}
}
