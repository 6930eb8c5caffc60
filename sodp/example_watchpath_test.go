package sodp_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

func ExampleWatchPath() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("game.state", map[string]any{
		"players": map[string]any{"alice": map[string]any{"health": 100}, "bob": map[string]any{"health": 80}},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// Only alice's health, converted into an int; bob's changes do not
	// reach this subscription.
	health, err := sodp.WatchPath[int](ctx, client, "game.state", "/players/alice/health")
	if err != nil {
		log.Fatal(err)
	}
	defer health.Close()

	u := <-health.Updates()
	fmt.Println(u.Kind, u.Value)
	srv.SetIn("game.state", "/players/bob/health", 70)
	srv.SetIn("game.state", "/players/alice/health", 90)
	u = <-health.Updates()
	fmt.Println(u.Kind, u.Value, u.Changed)
	srv.SetIn("game.state", "/players", map[string]any{"bob": map[string]any{"health": 70}})
	u = <-health.Updates()
	fmt.Println(u.Kind, u.Value, u.Initialized)
	// Output:
	// snapshot 100
	// delta 90 [/]
	// delta 0 false
}

func ExampleUpdate_changed() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("room.cursors", map[string]any{"alice": map[string]any{"x": 1, "y": 1}, "bob": map[string]any{"x": 5, "y": 5}})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	cursors, err := sodp.Watch[map[string]map[string]int](ctx, client, "room.cursors")
	if err != nil {
		log.Fatal(err)
	}
	defer cursors.Close()
	bob, err := sodp.WatchPath[map[string]int](ctx, client, "room.cursors", "/bob")
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close()

	fmt.Println((<-cursors.Updates()).Changed == nil, (<-bob.Updates()).Changed == nil)
	srv.SetIn("room.cursors", "/bob/x", 6)
	// The whole value's paths, and the same change relative to /bob.
	fmt.Println((<-cursors.Updates()).Changed, (<-bob.Updates()).Changed)
	// Output:
	// true true
	// [/bob/x] [/x]
}

func ExampleRefPath() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("game.state", map[string]any{"players": map[string]any{"alice": map[string]any{"health": 100}}})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	game := sodp.Key[map[string]any](client, "game.state")
	health := sodp.RefPath[int](game, "/players/alice/health")
	sub, err := health.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	fmt.Println((<-sub.Updates()).Value)

	if _, err := health.Set(ctx, 75); err != nil {
		log.Fatal(err)
	}
	fmt.Println((<-sub.Updates()).Value)
	u, err := health.Cached(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Kind, u.Value)
	// Output:
	// 100
	// 75
	// cached 75
}
