// Command quickstart watches a typed key and writes to it. It connects to
// $SODP_URL, or, when that is unset, to an embedded test server.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// Player is the value stored under game.player.
type Player struct {
	Name   string   `msgpack:"name"`
	Health int      `msgpack:"health"`
	Pos    Position `msgpack:"pos"`
}

// Position is a point on the map.
type Position struct {
	X float64 `msgpack:"x"`
	Y float64 `msgpack:"y"`
}

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	url := os.Getenv("SODP_URL")
	if url == "" {
		srv := sodptest.NewServer()
		defer srv.Close()
		url = srv.URL
		fmt.Println("no SODP_URL set: using an embedded test server at", url)
	}

	client, err := sodp.Dial(ctx, url, sodp.WithToken(os.Getenv("SODP_TOKEN")))
	if err != nil {
		return err
	}
	defer client.Close()
	if info := client.Server(); info != nil {
		fmt.Printf("connected to %q (protocol %s, dialect %s)\n", info.Name, info.Version, info.Dialect)
	}

	player := sodp.Key[Player](client, "game.player")
	sub, err := player.Watch(ctx, sodp.WithBuffer(16))
	if err != nil {
		return err
	}
	defer sub.Close()

	// The writer: each step waits for the reader to see the previous one,
	// so the printed sequence is the same on every run.
	steps := []struct {
		what  string
		write func() (uint64, error)
	}{
		{"set", func() (uint64, error) {
			return player.Set(ctx, Player{Name: "alice", Health: 100, Pos: Position{X: 1, Y: 2}})
		}},
		{"patch", func() (uint64, error) { return player.Patch(ctx, map[string]any{"health": 90}) }},
		{"set_in", func() (uint64, error) { return player.SetIn(ctx, "/pos/x", 5.5) }},
		{"delete", func() (uint64, error) { return player.Delete(ctx) }},
	}

	// The first update is the current value (a snapshot).
	first, ok := <-sub.Updates()
	if !ok {
		return sub.Err()
	}
	show(first)
	for _, step := range steps {
		v, err := step.write()
		if err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
		fmt.Printf("-> %s done, server version %d\n", step.what, v)
		u, ok := <-sub.Updates()
		if !ok {
			return sub.Err()
		}
		show(u)
	}
	return nil
}

func show(u sodp.Update[Player]) {
	if u.Err != nil {
		fmt.Printf("   %-8s v%-3d error: %v\n", u.Kind, u.Version, u.Err)
		return
	}
	if !u.Initialized {
		fmt.Printf("   %-8s v%-3d %s is empty\n", u.Kind, u.Version, u.Key)
		return
	}
	fmt.Printf("   %-8s v%-3d %s = %+v\n", u.Kind, u.Version, u.Key, u.Value)
}
