package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func TestServerErrorIsThePackagesType(t *testing.T) {
	srv := newServer(t, sodptest.WithACL(func(_, key string, write bool) bool { return !write || key != "locked" }))
	c := dial(t, srv.URL)
	_, err := c.Set(ctxT(t), "locked", 1)
	if got := fmt.Sprintf("%T", err); got != "*sodp.ServerError" {
		t.Errorf("%%T = %s, want *sodp.ServerError", got)
	}
	var se *sodp.ServerError
	if !errors.As(err, &se) || se.Code != 403 || se.Key != "locked" || se.Method != "state.set" || !errors.Is(err, sodp.ErrForbidden) {
		t.Fatalf("err = %#v", err)
	}
	if strings.Count(err.Error(), "sodp:") != 1 {
		t.Errorf("message %q", err)
	}
}

func TestServerReturnsACopy(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	a := c.Server()
	if a == nil || a.Capabilities == nil {
		t.Fatalf("Server() = %+v", a)
	}
	a.Name = "changed"
	for k := range a.Capabilities {
		a.Capabilities[k] = "changed"
	}
	a.Capabilities["new"] = true
	b := c.Server()
	if b == a || b.Name == "changed" || b.Capabilities["new"] != nil {
		t.Fatalf("Server() shares its value: %+v", b)
	}
	for k, v := range b.Capabilities {
		if v == "changed" {
			t.Errorf("capability %s changed through an earlier copy", k)
		}
	}
}

type health struct {
	Name   string `json:"name"`
	Health uint8  `json:"health"`
}

func TestConvertError(t *testing.T) {
	srv := newServer(t)
	srv.Set("p", map[string]any{"name": "bob", "health": 300})
	c := dial(t, srv.URL)
	sub := watch[health](t, c, "p")
	u := next(t, sub)
	if !errors.Is(u.Err, sodp.ErrConvert) {
		t.Fatalf("Err = %v, want ErrConvert", u.Err)
	}
	var ce *sodp.ConvertError
	if !errors.As(u.Err, &ce) {
		t.Fatalf("Err %T is not a *ConvertError", u.Err)
	}
	if ce.Key != "p" || ce.Version != u.Version || ce.Path != "/health" || ce.Type != "sodp_test.health" || ce.Want != "uint8" || ce.Got != "integer" {
		t.Errorf("ConvertError = %+v", ce)
	}
	if u.Value != (health{}) {
		t.Errorf("Value = %+v, want the zero value when Err is set", u.Value)
	}
	if strings.Count(u.Err.Error(), "sodp:") != 1 || !strings.Contains(u.Err.Error(), `"/health"`) {
		t.Errorf("message %q", u.Err)
	}
	// Cached and Get report the same.
	if _, err := sodp.Key[health](c, "p").Cached(ctxT(t)); !errors.As(err, &ce) {
		t.Errorf("Cached: %v", err)
	}
	if _, err := sodp.Get[health](ctxT(t), c, "p"); !errors.Is(err, sodp.ErrConvert) {
		t.Errorf("Get: %v", err)
	}
}

func TestWaitVersionNotWatched(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	if err := sodp.Key[int](c, "nobody.watches").WaitVersion(ctxT(t), 1); !errors.Is(err, sodp.ErrNotCached) {
		t.Errorf("WaitVersion = %v, want ErrNotCached", err)
	}
	if _, err := sodp.Key[int](c, "nobody.watches").Cached(ctxT(t)); !errors.Is(err, sodp.ErrNotCached) {
		t.Errorf("Cached = %v, want ErrNotCached", err)
	}
}

func TestNilClientRef(t *testing.T) {
	ref := sodp.Key[int](nil, "k")
	ctx := ctxT(t)
	calls := map[string]func() error{
		"Watch":       func() error { _, err := ref.Watch(ctx); return err },
		"Cached":      func() error { _, err := ref.Cached(ctx); return err },
		"Get":         func() error { _, err := ref.Get(ctx); return err },
		"Set":         func() error { _, err := ref.Set(ctx, 1); return err },
		"Patch":       func() error { _, err := ref.Patch(ctx, map[string]any{}); return err },
		"SetIn":       func() error { _, err := ref.SetIn(ctx, "/a", 1); return err },
		"Delete":      func() error { _, err := ref.Delete(ctx); return err },
		"Presence":    func() error { _, err := ref.Presence(ctx, "/a", 1); return err },
		"WaitVersion": func() error { return ref.WaitVersion(ctx, 1) },
		"sodp.Get":    func() error { _, err := sodp.Get[int](ctx, nil, "k"); return err },
	}
	for name, f := range calls {
		if err := f(); !errors.Is(err, sodp.ErrClosed) {
			t.Errorf("%s = %v, want ErrClosed", name, err)
		}
	}
}

func TestGetOneShot(t *testing.T) {
	srv := newServer(t)
	srv.Set("g.k", map[string]any{"name": "ann", "health": 7})
	c := dial(t, srv.URL)
	u, err := sodp.Get[health](ctxT(t), c, "g.k")
	if err != nil || u.Value != (health{"ann", 7}) || u.Kind != sodp.KindSnapshot || !u.Initialized {
		t.Fatalf("Get = %+v, %v", u, err)
	}
	eventually(t, "UNWATCH after the one-shot read", func() bool { return len(frames(srv, "UNWATCH")) == 1 })
	if st := c.Stats(); st.Subscriptions != 0 || st.WatchedKeys != 0 {
		t.Errorf("Get left a subscription: %+v", st)
	}
	// A key never written.
	u, err = sodp.Get[health](ctxT(t), c, "g.empty")
	if err != nil || u.Initialized || u.Value != (health{}) {
		t.Fatalf("Get(empty) = %+v, %v", u, err)
	}
	// A watched key: the copy, no round trip.
	sub := watch[health](t, c, "g.k")
	next(t, sub)
	watches := len(frames(srv, "WATCH"))
	u, err = sodp.Key[health](c, "g.k").Get(ctxT(t))
	if err != nil || u.Kind != sodp.KindCached || u.Value.Name != "ann" {
		t.Fatalf("Get(watched) = %+v, %v", u, err)
	}
	if n := len(frames(srv, "WATCH")); n != watches {
		t.Errorf("Get of a watched key sent a WATCH")
	}
	// A refused key.
	srv2 := newServer(t, sodptest.WithACL(func(_, key string, _ bool) bool { return key != "secret" }))
	c2 := dial(t, srv2.URL)
	if _, err := sodp.Get[int](ctxT(t), c2, "secret"); !errors.Is(err, sodp.ErrForbidden) {
		t.Errorf("Get(refused) = %v, want ErrForbidden", err)
	}
}

func TestWaitKeyVersion(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	sub, err := sodp.WatchMany[int](ctxT(t), c, []string{"m.a", "m.b"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	v, err := c.Set(ctxT(t), "m.b", 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.WaitKeyVersion(ctxT(t), "m.b", v); err != nil {
		t.Fatalf("WaitKeyVersion: %v", err)
	}
	if err := sub.WaitKeyVersion(ctxT(t), "m.c", 1); !errors.Is(err, sodp.ErrInvalidKey) {
		t.Errorf("WaitKeyVersion(other key) = %v, want ErrInvalidKey", err)
	}
	// WaitVersion is on the first key: m.a's version v is not reached
	// before the context ends.
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	if err := sub.WaitVersion(ctx, v+10); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitVersion = %v", err)
	}
}

func TestSubscriptionCloseSaysSubscriptionClosed(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL)
	sub := watch[int](t, c, "k")
	sub.Close()
	err := sub.Err()
	if !errors.Is(err, sodp.ErrClosed) || !strings.Contains(err.Error(), "subscription closed") {
		t.Errorf("Err = %v, want ErrClosed saying the subscription was closed", err)
	}
	sub2 := watch[int](t, c, "k")
	c.Close()
	<-sub2.Updates()
	if err := closed(t, sub2); !errors.Is(err, sodp.ErrClosed) || !strings.Contains(err.Error(), "client closed") {
		t.Errorf("after client Close: Err = %v", err)
	}
}

func ExampleGet() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("game.player", map[string]any{"name": "alice", "health": 100})
	ctx := context.Background()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	// One read: WATCH, the first value, UNWATCH (or the client's copy when
	// the key is watched already).
	u, err := sodp.Get[Player](ctx, client, "game.player")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Value.Name, u.Value.Health, u.Kind)
	// Output: alice 100 snapshot
}

func ExampleConvertError() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("game.player", map[string]any{"name": "alice", "health": "full"})
	ctx := context.Background()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	sub, err := sodp.Watch[Player](ctx, client, "game.player")
	if err != nil {
		panic(err)
	}
	defer sub.Close()
	u := <-sub.Updates()
	var ce *sodp.ConvertError
	if errors.As(u.Err, &ce) {
		fmt.Println(errors.Is(u.Err, sodp.ErrConvert), ce.Path, ce.Want, ce.Got)
	}
	// Output: true /health int string
}

func ExampleRef_Cached() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("game.player", map[string]any{"name": "alice", "health": 100})
	ctx := context.Background()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	player := sodp.Key[Player](client, "game.player")
	if _, err := player.Cached(ctx); errors.Is(err, sodp.ErrNotCached) {
		fmt.Println("not watched yet")
	}
	sub, err := player.Watch(ctx)
	if err != nil {
		panic(err)
	}
	defer sub.Close()
	<-sub.Updates()
	u, err := player.Cached(ctx) // no round trip
	fmt.Println(u.Value.Name, u.Kind, err)
	// Output:
	// not watched yet
	// alice cached <nil>
}

func ExampleSubscription_WaitKeyVersion() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	sub, err := sodp.WatchMany[float64](ctx, client, []string{"room.a.temp", "room.b.temp"})
	if err != nil {
		panic(err)
	}
	defer sub.Close()
	v, err := client.Set(ctx, "room.b.temp", 21.5)
	if err != nil {
		panic(err)
	}
	// Read-your-writes on the second key of the subscription.
	fmt.Println(sub.WaitKeyVersion(ctx, "room.b.temp", v))
	// Output: <nil>
}
