package sodptest

import (
	"strings"
	"testing"

	"github.com/sodp-go/client/internal/wire"

	"github.com/sodp-go/client/sodp"
)

func TestCallMethods(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		c := dial(t, srv)
		c.watch(10, "doc")
		c.expect(wire.TypeStateInit)

		// Order of the caller's own DELTA and RESULT, and RESULT data.
		id := c.call("state.set", map[string]any{"state": "doc", "value": map[string]any{"a": map[string]any{"x": 1, "y": 2}}})
		r1, r2 := c.next(), c.next()
		resFrame, deltaFrame := r2, r1
		if d == sodp.DialectGo {
			resFrame, deltaFrame = r1, r2
		}
		res, ok := resFrame.f.Body.(*wire.Result)
		if !ok || deltaFrame.f.Type != wire.TypeDelta {
			t.Fatalf("frames %v, %v", r1, r2)
		}
		if !res.Success || res.CallID != id {
			t.Errorf("RESULT %+v", res)
		}
		if d == sodp.DialectTS {
			if _, has := resFrame.body()["data"]; res.Data != nil || !has {
				t.Errorf("TS RESULT data %v (present %v), want nil", res.Data, has)
			}
		} else if !deltaEqual(res.Data, map[string]any{"version": int64(1)}) {
			t.Errorf("RESULT data %v, want {version:1}", res.Data)
		}
		c.send(wire.TypeUnwatch, 0, &wire.Unwatch{State: "doc"})

		c.callOK("state.patch", map[string]any{"state": "doc", "patch": map[string]any{"a": map[string]any{"x": 3}, "b": 1}})
		v, _, _ := srv.Get("doc")
		want := map[string]any{"a": map[string]any{"x": int64(3)}, "b": int64(1)}
		if d == sodp.DialectRust {
			want = map[string]any{"a": map[string]any{"x": int64(3), "y": int64(2)}, "b": int64(1)}
		}
		if !deltaEqual(v, want) {
			t.Errorf("after patch: %v, want %v", v, want)
		}

		path := "/c/d"
		if d == sodp.DialectGo {
			path = "c.d"
		}
		c.callOK("state.set_in", map[string]any{"state": "doc", "path": path, "value": 5})
		v, _, _ = srv.Get("doc")
		if cm, _ := v.(map[string]any)["c"].(map[string]any); cm["d"] != int64(5) {
			t.Errorf("after set_in %s: %v", path, v)
		}
		c.callOK("state.set_in", map[string]any{"state": "doc", "path": "/e/f", "value": 1})
		v, _, _ = srv.Get("doc")
		m := v.(map[string]any)
		if d == sodp.DialectGo {
			if m["/e/f"] != int64(1) {
				t.Errorf("Go set_in /e/f: %v, want a field named \"/e/f\"", v)
			}
		} else if em, _ := m["e"].(map[string]any); em["f"] != int64(1) {
			t.Errorf("set_in /e/f: %v", v)
		}

		c.callOK("state.append", map[string]any{"state": "list", "value": 1})
		c.callOK("state.append", map[string]any{"state": "list", "value": "two"})
		if v, _, _ := srv.Get("list"); !deltaEqual(v, []any{int64(1), "two"}) {
			t.Errorf("after append: %v", v)
		}

		pid := c.call("state.presence", map[string]any{"state": "room", "path": "/users/u1", "value": "here"})
		r, _ := c.answer(pid)
		if d == sodp.DialectGo {
			if e, ok := r.f.Body.(*wire.Error); !ok || e.Code != 400 {
				t.Errorf("Go presence: %v, want ERROR 400", r)
			}
		} else {
			if res, ok := r.f.Body.(*wire.Result); !ok || !res.Success {
				t.Errorf("presence: %v", r)
			}
			if v, _, _ := srv.Get("room"); !deltaEqual(v, map[string]any{"users": map[string]any{"u1": "here"}}) {
				t.Errorf("after presence: %v", v)
			}
		}

		w := dial(t, srv)
		w.watch(10, "doc")
		w.expect(wire.TypeStateInit)
		c.callOK("state.delete", map[string]any{"state": "doc"})
		if dl := deltaOf(t, w.next()); opsString(dl.Ops) != "REMOVE /" {
			t.Errorf("delete DELTA %v", opsString(dl.Ops))
		}
		if _, _, ok := srv.Get("doc"); ok {
			t.Error("doc still set after state.delete")
		}
	})
}

func TestCallFailures(t *testing.T) {
	acl := WithACL(func(sub, key string, write bool) bool { return !write || !strings.HasPrefix(key, "ro.") })
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d), acl)
		srv.Set("str", "text")
		srv.Set("ro.k", 1)
		unknown := 404
		if d == sodp.DialectGo {
			unknown = 400
		}
		cases := []struct {
			name   string
			method string
			args   map[string]any
			code   int
		}{
			{"unknown method", "nope", map[string]any{"state": "k"}, unknown},
			{"patch not a map", "state.patch", map[string]any{"state": "k", "patch": 5}, 400},
			{"invalid key", "state.set", map[string]any{"state": "bad key", "value": 1}, 400},
			{"no key", "state.set", map[string]any{"value": 1}, 400},
			{"write denied", "state.set", map[string]any{"state": "ro.k", "value": 2}, 403},
			{"append to a string", "state.append", map[string]any{"state": "str", "value": 1}, 400},
			{"path not a string", "state.set_in", map[string]any{"state": "k", "path": 5, "value": 1}, 400},
		}
		if d != sodp.DialectGo {
			cases = append(cases,
				struct {
					name   string
					method string
					args   map[string]any
					code   int
				}{"bad pointer", "state.set_in", map[string]any{"state": "k", "path": "/x~2", "value": 1}, 400},
				struct {
					name   string
					method string
					args   map[string]any
					code   int
				}{"index past the end", "state.set_in", map[string]any{"state": "k", "path": "/a/3", "value": 1}, 400},
			)
		}
		c := dial(t, srv)
		for _, tc := range cases {
			id := c.call(tc.method, tc.args)
			r, before := c.answer(id)
			if len(before) != 0 {
				t.Errorf("%s: unexpected frames %v", tc.name, before)
			}
			switch d {
			case sodp.DialectGo, sodp.DialectRust:
				e, ok := r.f.Body.(*wire.Error)
				if !ok || e.Code != tc.code || r.f.Stream != 0 || e.Message == "" {
					t.Errorf("%s: %v, want ERROR %d on stream 0", tc.name, r, tc.code)
				}
			default:
				// The message is the data, a string, as the spec says.
				res, ok := r.f.Body.(*wire.Result)
				if !ok || res.Success || res.CallID != id || res.Code != tc.code {
					t.Errorf("%s: %v, want RESULT success:false code %d", tc.name, r, tc.code)
				}
				if msg, _ := r.body()["data"].(string); msg == "" || res.Message != msg {
					t.Errorf("%s: RESULT data %#v, want the message string", tc.name, r.body()["data"])
				}
			}
		}
		if v, _, _ := srv.Get("ro.k"); v != int64(1) {
			t.Errorf("denied write changed ro.k to %v", v)
		}
		st := srv.Stats()
		if st.Errors+st.FailedCalls != len(cases) || st.Mutations != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestUnchangedWrite: the Go server assigns no version to a write that
// changes nothing, sends no DELTA and answers RESULT {}; the others assign
// a version and send an empty DELTA.
func TestUnchangedWrite(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d))
		v1 := srv.Set("doc", map[string]any{"a": 1, "b": map[string]any{"c": "x"}})
		c := dial(t, srv)
		c.watch(10, "doc")
		c.expect(wire.TypeStateInit)
		mutations := srv.Stats().Mutations
		path := "/b/c"
		if d == sodp.DialectGo {
			path = "b.c"
		}
		writes := []struct {
			method string
			args   map[string]any
		}{
			{"state.set", map[string]any{"state": "doc", "value": map[string]any{"a": 1, "b": map[string]any{"c": "x"}}}},
			{"state.patch", map[string]any{"state": "doc", "patch": map[string]any{"a": 1}}},
			{"state.set_in", map[string]any{"state": "doc", "path": path, "value": "x"}},
		}
		for i, w := range writes {
			id := c.call(w.method, w.args)
			r, before := c.answer(id)
			res, ok := r.f.Body.(*wire.Result)
			if !ok || !res.Success {
				t.Fatalf("%s: %v", w.method, r)
			}
			switch d {
			case sodp.DialectGo:
				if len(before) != 0 {
					t.Errorf("%s: frames before the RESULT: %v", w.method, before)
				}
				if data, ok := r.body()["data"].(map[string]any); !ok || len(data) != 0 {
					t.Errorf("%s: RESULT data %#v, want {}", w.method, r.body()["data"])
				}
			case sodp.DialectTS:
				if len(before) != 1 || len(deltaOf(t, before[0]).Ops) != 0 {
					t.Errorf("%s: frames before the RESULT %v, want one empty DELTA", w.method, before)
				}
			default:
				if len(before) != 1 || len(deltaOf(t, before[0]).Ops) != 0 {
					t.Errorf("%s: frames before the RESULT %v, want one empty DELTA", w.method, before)
				}
				if !deltaEqual(res.Data, map[string]any{"version": v1 + uint64(i) + 1}) {
					t.Errorf("%s: RESULT data %v, want version %d", w.method, res.Data, v1+uint64(i)+1)
				}
			}
		}
		if d == sodp.DialectGo {
			c.expectNothing()
			if _, v, _ := srv.Get("doc"); v != v1 || srv.Stats().Mutations != mutations {
				t.Errorf("version %d (want %d), %d mutations (want %d)", v, v1, srv.Stats().Mutations, mutations)
			}
			if v := srv.Set("doc", map[string]any{"a": 1, "b": map[string]any{"c": "x"}}); v != 0 {
				t.Errorf("Server.Set of the same value = %d, want 0", v)
			}
			if v, err := srv.SetIn("doc", "/a", 1); v != 0 || err != nil {
				t.Errorf("Server.SetIn of the same value = %d, %v; want 0, nil", v, err)
			}
		}
		// A write that changes something is versioned as usual.
		id := c.call("state.set", map[string]any{"state": "doc", "value": 2})
		if r, _ := c.answer(id); !r.f.Body.(*wire.Result).Success {
			t.Fatalf("changing write: %v", r)
		}
		if _, v, _ := srv.Get("doc"); v <= v1 {
			t.Errorf("version %d after a change, want above %d", v, v1)
		}
	})
}
