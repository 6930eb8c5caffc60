package sodp_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// Player is the value the examples store under game.player.
type Player struct {
	Name   string `msgpack:"name"`
	Health int    `msgpack:"health"`
}

func ExampleDial() {
	srv := sodptest.NewServer() // an in-process server; use your server's URL instead
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	fmt.Println(client.State(), client.Server().Name)
	// Output: live sodptest
}

func ExampleNew() {
	srv := sodptest.NewServer()
	defer srv.Close()

	// New returns at once and connects in the background; calls and
	// watches made before the connection is live wait for it.
	client, err := sodp.New(srv.URL, sodp.WithBackoff(100*time.Millisecond, 5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ready(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.State())
	// Output: live
}

func ExampleWatch() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("game.player", map[string]any{"name": "alice", "health": 100})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	sub, err := sodp.Watch[Player](ctx, client, "game.player")
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	for u := range sub.Updates() {
		fmt.Printf("%s: %s has %d health\n", u.Kind, u.Value.Name, u.Value.Health)
		if u.Value.Health <= 0 {
			break
		}
		srv.Patch("game.player", map[string]any{"health": u.Value.Health - 60})
	}
	// Output:
	// snapshot: alice has 100 health
	// delta: alice has 40 health
	// delta: alice has -20 health
}

func ExampleWatch_select() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	scores, err := sodp.Watch[int](ctx, client, "game.score")
	if err != nil {
		log.Fatal(err)
	}
	defer scores.Close()

	// Subscriptions are channels: select on them beside anything else.
	timeout := time.After(2 * time.Second)
	for {
		select {
		case u, ok := <-scores.Updates():
			if !ok {
				log.Fatal(scores.Err())
			}
			fmt.Println("score", u.Value)
			if u.Value >= 2 {
				return
			}
			srv.Set("game.score", u.Value+1)
		case <-timeout:
			fmt.Println("timed out")
			return
		}
	}
	// Output:
	// score 0
	// score 1
	// score 2
}

func ExampleWatchMany() {
	srv := sodptest.NewServer()
	defer srv.Close()
	srv.Set("room.a.temp", 21.5)
	srv.Set("room.b.temp", 19.0)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// One WATCH frame, one channel; each update names its key.
	sub, err := sodp.WatchMany[float64](ctx, client, []string{"room.a.temp", "room.b.temp"})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	temps := map[string]float64{}
	for u := range sub.Updates() {
		temps[u.Key] = u.Value
		if len(temps) == 2 {
			break
		}
	}
	fmt.Println(temps)
	// Output: map[room.a.temp:21.5 room.b.temp:19]
}

func ExampleKey() {
	srv := sodptest.NewServer()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// A typed handle bundles watching, the cached copy and writes.
	player := sodp.Key[Player](client, "game.player")
	sub, err := player.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	<-sub.Updates() // the first value: nothing written yet

	v, err := player.Set(ctx, Player{Name: "bob", Health: 75})
	if err != nil {
		log.Fatal(err)
	}
	// Read-your-writes: wait until the client's copy has the new version.
	if err := player.WaitVersion(ctx, v); err != nil {
		log.Fatal(err)
	}
	cur, err := player.Cached(ctx) // the client's copy, no round trip
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cur.Value.Name, cur.Value.Health, cur.Version == v)
	// Output: bob 75 true
}

func ExampleClient_Set() {
	srv := sodptest.NewServer(sodptest.WithACL(func(sub, key string, write bool) bool {
		return !write || key != "config.locked"
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := sodp.Dial(ctx, srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	version, err := client.Set(ctx, "config.theme", map[string]any{"dark": true})
	fmt.Println(version > 0, err)

	// Server refusals are *ServerError values that match sentinels.
	_, err = client.Set(ctx, "config.locked", 1)
	var se *sodp.ServerError
	fmt.Println(errors.Is(err, sodp.ErrForbidden), errors.As(err, &se) && se.Code == 403)

	// Invalid keys fail before anything is sent.
	_, err = client.Set(ctx, "not a key", 1)
	fmt.Println(errors.Is(err, sodp.ErrInvalidKey))
	// Output:
	// true <nil>
	// true true
	// true
}
